"""Background learning after each turn: facts and dossiers, the journal and its daily reflection.

Everything here runs off the reply path, as post-turn hooks (see persona.hooks) or on the
journal scheduler's own task. It depends on memory only through memory.base/memory.records.

Wiring (done by the composition root; `journal_store` is a SqliteJournalStore, which is also
the day reader, and `files` a memory.journal_files.JournalFiles)::

    facts = FactLearner(provider=p, facts=stores.facts, model=m, settings=s, clock=now)
    journaler = Journaler(provider=p, store=journal_store, files=files, model=m, settings=s, clock=now,
                          drafts=journal_store.drafts)  # pending conversations survive restarts
    reflector = Reflector(provider=p, store=journal_store, reader=journal_store, files=files,
                          model=m, settings=s, clock=now, personas=persona_names)
    scheduler = JournalScheduler(journaler=journaler, reflector=reflector, settings=s, clock=now)
    await scheduler.start()  # hooks: [facts, journaler]; close the scheduler before the stores

`clock` must return timezone-aware datetimes.
"""
