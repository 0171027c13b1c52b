"""Write ``familiar_heldout.json``: a hand-written, held-out retrieval dataset for ``bench.retrieval``.

Ten direct-message conversations between a person and the persona ("Familiar"), each spanning weeks or
months, plus questions whose evidence is the turn (or turns) that answer them. Unlike the template-built
``familiar_recall.json`` every turn here was written by hand, facts are stated indirectly and mixed with
chit-chat that shares their vocabulary, so near-miss distractors exist in every conversation.

Evidence is referenced by anchor names attached to turns (``u("...", key="lease")``) rather than by turn
ids, so inserting a line of dialogue never silently shifts an answer; ids ("D<session>:<n>") are assigned
and checked when the file is written.

Run: ``.venv/bin/python bench/data/make_familiar_heldout.py`` (stdlib only, deterministic).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

PERSONA = "Familiar"
CATEGORIES = frozenset({"single-hop", "update", "temporal", "multi-hop", "adversarial"})
MAX_EVIDENCE = 3
OUTPUT = Path(__file__).with_name("familiar_heldout.json")


@dataclass(frozen=True, slots=True, kw_only=True)
class Line:
    """One chat message; ``key`` names it so questions can cite it as evidence."""

    from_user: bool
    text: str
    key: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Session:
    time: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    id: str
    user: str
    sessions: tuple[Session, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    conversation: str
    category: str
    time: str
    evidence: tuple[str, ...]
    text: str


def u(text: str, key: str = "") -> Line:
    return Line(from_user=True, text=text, key=key)


def f(text: str) -> Line:
    return Line(from_user=False, text=text)


def s(time: str, *lines: Line) -> Session:
    return Session(time=time, lines=lines)


def q(conversation: str, category: str, time: str, evidence: tuple[str, ...], text: str) -> Question:
    return Question(conversation=conversation, category=category, time=time, evidence=evidence, text=text)


# --- the hand-written data -------------------------------------------------------------------------------

# Maya Okafor: ER nurse in Portland, Oregon; apartment hunt, greyhound, certification exam, car, summer trip.
MAYA = Conversation(
    id="c1",
    user="Maya",
    sessions=(
        s(
            "2023-03-04T09:12:00",
            u("ok finally home. twelve hour night shift and I'm somehow still awake"),
            f("Oof, welcome home. Was it a rough one in the ER?"),
            u(
                "two car pileup on I-84 around 3am, so yeah. everyone lived though, which is "
                "the part that matters"
            ),
            f("That's a good outcome for a night like that. Are you going to sleep soon?"),
            u("soon. Biscuit is staring at me like I owe her breakfast so that comes first"),
            f("Ha, priorities. How's she settling in these days?"),
            u(
                "she's great. people keep asking what she is, she's a greyhound, super skinny "
                "and gentle, sleeps like 18 hours a day",
                key="breed",
            ),
            f("Greyhounds really are famous couch potatoes. Did you get her as a puppy?"),
            u(
                "nope, she's a retired racer. she ran at a track in Florida until she was four "
                "and then the rescue flew her up here",
                key="racer",
            ),
            f("What a life change for her. How long have you had her now?"),
            u("since October, so about five months"),
            f("And she's already running the household, it sounds like."),
            u("completely. ok other news, I saw two apartments yesterday before my shift"),
            f("Oh nice, the hunt is on! How were they?"),
            u(
                "the first one on Division Street was gorgeous, new building, in-unit laundry, "
                "but it's $2,100 a month and no pets over 40 lbs",
                key="division",
            ),
            f("Hm, that pet rule sounds like a dealbreaker with Biscuit around. What about the second?"),
            u(
                "the second one is an old duplex on Alder Street, $1,850, a bit creaky but "
                "there's a fenced yard out back",
                key="alder",
            ),
            f("A fenced yard for a greyhound sounds ideal. Are you leaning toward that one?"),
            u(
                "kind of? I want to sleep on it. my sister thinks I'm crazy for even "
                "considering the expensive one"
            ),
            f("What's her reasoning?"),
            u(
                "Ada's a pastry chef up in Seattle, she's been living off restaurant wages for "
                "ten years so she's very anti-overpaying for rent lol",
                key="ada_job",
            ),
            f(
                "That's a fair perspective to have from someone who knows budgets. When do you "
                "need to decide?"
            ),
            u("landlord on Alder said by the 20th. my lease on the current place ends end of March"),
            f("Okay, that gives you a couple of weeks. Go get some sleep, and give Biscuit her breakfast!"),
            u("haha yes ma'am. night"),
        ),
        s(
            "2023-03-19T22:40:00",
            u("guess what"),
            f("Tell me!"),
            u("I signed the lease on the Alder Street duplex this afternoon!! it's official", key="lease"),
            f("Congratulations! That's a big step. How are you feeling?"),
            u(
                "relieved mostly. the landlord is this older guy named Ray who seems chill, he "
                "even gave Biscuit a treat"
            ),
            f("That's a great sign for a landlord. When do you get the keys?"),
            u("keys on April 1st. which is honestly perfect since my old place ends the 31st", key="movein"),
            f("Nice timing. Are you hiring movers or doing it yourself?"),
            u(
                "got a quote from a moving company for $900 which is insane for a one bedroom. "
                "Jonah said he'd help with his truck instead"
            ),
            f("That's a kind offer. Is Jonah a coworker?"),
            u(
                "yeah he's one of the ER nurses, we started at Riverbend the same month. he and"
                " his wife Priscilla are the best"
            ),
            f("Sounds like good people to have around. Did you celebrate the lease at all?"),
            u(
                "sort of, I went to dinner at Ben Thanh Kitchen on 82nd because Ada has been "
                "telling me to go there for like a year",
                key="ben_thanh",
            ),
            f("And? Did it live up to the hype?"),
            u("the pho was unreal. broth was so rich. Ada was right which I will never tell her"),
            f("Ha, your secret is safe with me. Anything else you ordered?"),
            u("the crispy imperial rolls, and some kind of jackfruit salad that was surprisingly good"),
            f("That sounds like a very good celebration meal."),
            u(
                "last week Jonah dragged me to that new ramen place Kizuna downtown and it was "
                "just fine. so Ben Thanh wins"
            ),
            f("Good to know which one to go back to. Is Ada coming down to see the new place?"),
            u(
                "maybe for her birthday, she turns 30 on April 2nd and she wants to do a weekend in Portland",
                key="ada_bday",
            ),
            f("Turning 30 the day after you move in, that's a busy weekend! Does she have plans in mind?"),
            u("she wants to do brunch and a bookstore day at Powell's. I'll probably be surrounded by boxes"),
            f("Boxes and brunch sounds like a pretty Portland birthday. Good luck with the packing."),
            u("thanks, I'll need it. night!"),
        ),
        s(
            "2023-04-16T14:05:00",
            u("hi from the new place 📦"),
            f("Hi! How's the new place?"),
            u(
                "honestly amazing. we moved in on the 1st like planned, Jonah's truck made it in three trips",
                key="moved",
            ),
            f("Three trips isn't bad at all. How's Biscuit taking the move?"),
            u("she was confused for like two days and now she does laps outside every morning"),
            f("That's adorable. Have you met any neighbours yet?"),
            u(
                "yes! the lady next door is Mrs. Petrakis, she's in her 70s and brought over a "
                "whole tray of spanakopita the first day",
                key="neighbor",
            ),
            f("What a welcome. That's the kind of neighbour you want."),
            u("she also told me everything about everyone on the block within ten minutes lol"),
            f("Ha, a built-in local news service. How was Ada's birthday weekend?"),
            u(
                "really fun, we did brunch at Screen Door and then spent three hours in "
                "Powell's. she bought like nine cookbooks"
            ),
            f("Very on brand for a pastry chef. Any work news?"),
            u(
                "yes actually. I'm switching from nights to day shifts starting in May, my "
                "manager finally approved it",
                key="days_switch",
            ),
            f("That's a big change! How do you feel about it?"),
            u("so happy. nights were wrecking my sleep and I never saw daylight"),
            f("Your body will probably thank you. Anything else on your plate?"),
            u(
                "I'm studying for the CEN, the certified emergency nurse exam. it's on May 20th"
                " and I'm kind of freaking out",
                key="cen",
            ),
            f("That's a big exam. How are you preparing?"),
            u(
                "practice questions every night, and Jonah and I quiz each other on breaks. "
                "toxicology is my weak spot"
            ),
            f("Quizzing with someone is a great way to stick it. Do you have a study plan until the 20th?"),
            u("one chapter a day basically. and no wine on weeknights, which is the real sacrifice"),
            f("Ha, a noble sacrifice. You've got a month, that's plenty with a steady plan."),
            u("hope so. ok Biscuit wants her walk, talk later"),
            f("Enjoy the walk!"),
        ),
        s(
            "2023-05-22T19:30:00",
            u("I PASSED. took the CEN on Saturday and got the results right away", key="passed"),
            f("Maya, that's fantastic! Congratulations!"),
            u("thank you!! I was so sure I bombed the tox section"),
            f("Clearly not. Did you celebrate?"),
            u(
                "Jonah and Priscilla took me back to Ben Thanh Kitchen last night, I got the "
                "same pho because why mess with perfection",
                key="ben_thanh_again",
            ),
            f("A victory pho, perfect. Do they like the place too?"),
            u("Priscilla ordered the lemongrass chicken and now she's obsessed"),
            f("Another convert. Anything else happen this week?"),
            u(
                "ugh, yes. my Corolla finally died on Tuesday. mechanic said the transmission "
                "is done and it's not worth fixing. so I bought a used Subaru Outback on "
                "Thursday",
                key="car",
            ),
            f("Oh no, and then oh wow, that's a fast turnaround. How do you like the new car?"),
            u("I love it. 2017, dark green, Biscuit fits in the back perfectly"),
            f("That sounds like a good fit for both of you. Was the Corolla old?"),
            u("2006, it had almost 240k miles. RIP little guy"),
            f("It had a good run. Did you do anything else fun?"),
            u(
                "Mrs. Petrakis and I tried the Thai place on the corner, Sabai. decent pad see "
                "ew, a bit too sweet"
            ),
            f("Ben Thanh still holds the crown then?"),
            u("yes, easily"),
            f("Anything coming up in the summer?"),
            u(
                "Jonah and Priscilla want to go camping at Crater Lake in August, I think I'm "
                "in. Aug 11 to 14",
                key="crater",
            ),
            f("Crater Lake is stunning. Have you been before?"),
            u("once, as a kid. and I went to Bend last fall for a weekend but that was mostly breweries"),
            f("Camping will be a very different trip then. Congrats again on the exam!"),
            u("thanks 💛"),
        ),
        s(
            "2023-07-02T11:15:00",
            u("hi! lazy sunday"),
            f("Hi Maya! How's the summer going?"),
            u(
                "really good. day shifts are so much better, 7am to 7pm and I actually sleep at"
                " night now like a normal person",
                key="days_now",
            ),
            f("That's great to hear. Has it been easy to adjust?"),
            u("first two weeks I was a zombie, now I'm fine"),
            f("Glad it settled. What are you up to today?"),
            u(
                "took Biscuit to the vet yesterday for a teeth cleaning, she had to be under "
                "anesthesia so she's extra sleepy and pathetic today",
                key="vet",
            ),
            f("Poor girl. Did the vet find anything?"),
            u(
                "they pulled one molar that was cracked but otherwise her teeth are good. Dr. "
                "Kaur said soft food for a few days"
            ),
            f("She'll be spoiled then. Is she eating okay?"),
            u("she's eating wet food like it's a five-star meal lol"),
            f("Ha, she's making the most of it. How's the camping plan coming along?"),
            u(
                "oh we changed it. there's already wildfire smoke near Crater Lake so we're "
                "doing Cannon Beach instead, same dates. Priscilla found a cabin that allows "
                "dogs",
                key="cannon",
            ),
            f("The coast sounds lovely, and Biscuit gets to come! Have you been there before?"),
            u("never actually, which is weird for an Oregonian"),
            f("Then it'll be a first. Anything you want to do there?"),
            u("Haystack Rock at low tide, tide pools, and eating too many clam chowders"),
            f("That sounds like a perfect coast trip. How's the new car doing on long drives?"),
            u("haven't taken it further than Salem yet. the coast will be its first real test"),
            f("Good timing to check the tires before you go."),
            u("ooh good call, will do. Mrs. Petrakis is going to water my tomatoes while I'm gone"),
            f("Tomatoes too! You're really settling in."),
            u("I know, I'm a yard person now. who am I"),
            f("Someone who found the right place, sounds like."),
        ),
    ),
)

MAYA_QUESTIONS = (
    q("c1", "single-hop", "2023-07-10T09:00:00", ("lease",), "On which street did Maya end up renting?"),
    q("c1", "single-hop", "2023-07-10T09:00:00", ("breed",), "What breed is my dog?"),
    q("c1", "single-hop", "2023-07-10T09:00:00", ("ada_job",), "What does Maya's sister do for work?"),
    q(
        "c1",
        "single-hop",
        "2023-07-10T09:00:00",
        ("division",),
        "How much was the monthly rent of the apartment I didn't take?",
    ),
    q(
        "c1",
        "single-hop",
        "2023-07-10T09:00:00",
        ("neighbor",),
        "Who is the older woman living next door to Maya?",
    ),
    q(
        "c1",
        "single-hop",
        "2023-07-10T09:00:00",
        ("cen", "passed"),
        "What certification exam was Maya preparing for in the spring?",
    ),
    q(
        "c1",
        "update",
        "2023-07-10T09:00:00",
        ("days_now", "days_switch"),
        "Does Maya currently work nights or days?",
    ),
    q("c1", "update", "2023-07-10T09:00:00", ("car",), "What car am I driving these days?"),
    q(
        "c1",
        "update",
        "2023-07-10T09:00:00",
        ("cannon",),
        "Where is Maya going on her August trip with Jonah and Priscilla?",
    ),
    q("c1", "temporal", "2023-07-10T09:00:00", ("lease",), "When did Maya sign her lease?"),
    q("c1", "temporal", "2023-07-10T09:00:00", ("car",), "What did I tell you in May about my car?"),
    q(
        "c1",
        "temporal",
        "2023-07-03T09:00:00",
        ("vet",),
        "What did I say yesterday about Biscuit's vet visit?",
    ),
    q(
        "c1",
        "temporal",
        "2023-07-10T09:00:00",
        ("movein", "moved"),
        "On what date did Maya move into the duplex?",
    ),
    q(
        "c1",
        "multi-hop",
        "2023-07-10T09:00:00",
        ("ben_thanh", "ben_thanh_again"),
        "Who went with Maya when she returned to the restaurant her sister recommended?",
    ),
    q(
        "c1",
        "multi-hop",
        "2023-07-10T09:00:00",
        ("alder", "lease"),
        "Does the place Maya rented have a yard?",
    ),
    q(
        "c1",
        "adversarial",
        "2023-07-10T09:00:00",
        ("racer",),
        "What did Maya's pet do for a living before she adopted her?",
    ),
)


# Tomasz Nowak: backend developer moving from Kraków to Berlin; long distance, side project, guitar.
TOMASZ = Conversation(
    id="c2",
    user="Tomasz",
    sessions=(
        s(
            "2023-08-06T20:15:00",
            u("hey, sunday evening existential crisis time"),
            f("Uh oh. What's going on, Tomasz?"),
            u(
                "nothing bad exactly. I had a second interview on Friday with a company in "
                "Berlin and I think it went well"
            ),
            f("That's exciting! What's the company?"),
            u(
                "Flinkwerk, they build routing and logistics software for delivery fleets. "
                "small team, maybe 40 people",
                key="flinkwerk",
            ),
            f("Sounds interesting. How does it compare to where you are now?"),
            u(
                "I've been at Pagora here in Kraków for almost four years, it's fintech, "
                "payments mostly. stable but I'm bored out of my mind",
                key="pagora",
            ),
            f("Four years is a long time to be bored. What's making it a crisis then?"),
            u("Ola. if I get it, it means Berlin, and she has a whole life here"),
            f("That's a real thing to weigh. Have you talked to her about it?"),
            u(
                "a bit. she's a pharmacist, she just got promoted to manage the pharmacy on "
                "Długa street so the timing is kind of terrible",
                key="ola_job",
            ),
            f("Congratulations to her, and yes, that makes the timing harder. How did she react?"),
            u('she said "go to the interview and then we\'ll talk". very Ola'),
            f("Sounds like a sensible approach. Anything else keeping you busy?"),
            u(
                "my side project. me and my friend Marek from uni are building a budgeting app "
                "called Ledgerly, mostly on weekends",
                key="marek",
            ),
            f("Fun! What does it do differently?"),
            u(
                "it splits shared expenses for couples and flatmates automatically from bank "
                "exports. Marek does the frontend, I do the backend"
            ),
            f("That sounds genuinely useful. Are you planning to launch it?"),
            u("someday lol. also I bought a guitar. used Yamaha acoustic, 400 złoty from OLX"),
            f("Ooh, a new hobby! Have you played before?"),
            u("never. my fingertips are dying"),
            f("That's the rite of passage. It gets better after a couple of weeks."),
            u("hope so. ok going to go eat pierogi at the place downstairs and stop thinking"),
            f("Good plan. Fingers crossed for the job!"),
        ),
        s(
            "2023-09-02T10:30:00",
            u("morning! big news"),
            f("Morning! Tell me."),
            u("I accepted the Flinkwerk offer. start date is October 16th", key="offer"),
            f("Congratulations! How are you feeling about it?"),
            u("excited and terrified. mostly excited"),
            f("That's the right mix. How did things go with Ola?"),
            u(
                "we decided to try long distance for now. she stays in Kraków with her pharmacy"
                " job, I go to Berlin, we visit every few weeks. it's like 8 hours by train",
                key="longdistance",
            ),
            f("That's a brave choice. It sounds like you've both thought about it."),
            u("we talked for like three evenings straight. we'll see how it goes"),
            f("Have you found a place in Berlin yet?"),
            u(
                "god no. Berlin housing is a nightmare. I found a sublet in Neukölln on "
                "Weserstraße for 3 months, just to have an address",
                key="sublet",
            ),
            f("That's smart, it gives you time to look properly. What's it like?"),
            u(
                "tiny room in a flat with two Italian guys. they seem nice. one of them is a DJ"
                " so we'll see about sleep"
            ),
            f("Ha, earplugs might be a good investment. How's the guitar going?"),
            u("slowly. I'm learning Wonderwall, because of course I am", key="wonderwall"),
            f("A classic for a reason! Can you get through it yet?"),
            u("I can do the intro and the chorus. the transitions are ugly"),
            f("That's progress in a month. Are you taking lessons?"),
            u("just YouTube. a guy called Justin, everyone uses him apparently"),
            f("He's very popular. Are you bringing the guitar to Berlin?"),
            u("obviously. it's coming on the train with me"),
            f("Good. It'll be nice to have something familiar there."),
            u("and Marek is mad I'm leaving but we'll keep working on Ledgerly remotely", key="marek2"),
            f("Remote side projects can work well, especially if you have a routine."),
            u("yeah we're going to do Sunday calls. ok gotta pack some stuff. bye!"),
        ),
        s(
            "2023-10-22T21:05:00",
            u("survived week one 🥲"),
            f("Congrats! How was the first week at the new job?"),
            u("intense but good. lots of onboarding, lots of Go code, which I've barely written before"),
            f("Learning a new language on the job is a lot. Is the team helping?"),
            u(
                "yeah my team lead Jana is great, she did a two-hour walkthrough of the routing"
                " engine with me on Wednesday and didn't make me feel stupid",
                key="jana",
            ),
            f("That's a good sign for the team culture. Who else are you working with?"),
            u(
                "a guy named Felix who is very into bouldering and already invited me, and an "
                "Indian guy Arjun who sits next to me"
            ),
            f("Sounds like a friendly bunch. How's the sublet?"),
            u("the DJ roommate practices at 1am. so. earplugs acquired"),
            f("Ha, I did warn you. How's Berlin otherwise?"),
            u("cold already? it's October! but I love the lakes and the döner is way better than in Kraków"),
            f("Food is always a good start. Any news on the side project?"),
            u(
                "oh yes. we had to rename Ledgerly. turns out a US accounting company has the "
                "trademark, Marek got an email from their lawyer 😬 it's called Tallybook now",
                key="rename",
            ),
            f("That's a scare, but better to find out early. Do you like the new name?"),
            u("I actually like it more. Marek designed a little notebook logo"),
            f("Nice. Did the app need a lot of changes for the rename?"),
            u("just the domain and the app store listing which hadn't even launched. so fine"),
            f("Lucky timing. How is Ola?"),
            u("good, we call every night. she's coming to visit in November"),
            f("That's something to look forward to."),
            u("yes. okay I need sleep, Go is melting my brain"),
            f("Rest up, week two will feel easier."),
        ),
        s(
            "2023-11-18T16:40:00",
            u("hiii"),
            f("Hey Tomasz! How's things?"),
            u("recovering. I had the flu all last week, full fever, couldn't work for three days", key="flu"),
            f("Oh no, I'm sorry. Are you feeling better now?"),
            u(
                "mostly. still coughing. Jana told me to not come in until Monday so I've been "
                "working from bed"
            ),
            f("Good of her. Did it ruin Ola's visit?"),
            u(
                "no thank god, Ola came the weekend before, the 10th to the 12th. we walked "
                "around Tempelhofer Feld and went to the Dong Xuan Center for Vietnamese food, "
                "she loved it",
                key="ola_visit",
            ),
            f("That sounds like a lovely weekend. Was it hard saying goodbye?"),
            u("yeah. the train station part is always the worst"),
            f("I can imagine. Any housing news?"),
            u(
                "YES. I found a proper apartment in Friedrichshain, one bedroom, I move in December 1st",
                key="fhain_found",
            ),
            f("That's huge, congratulations! How did you find it?"),
            u("Felix's friend was moving out and recommended me to the landlord. pure luck"),
            f("Sometimes that's the only way in Berlin. Are you sad to leave the DJ?"),
            u("lol no. I will miss the Italian cooking though"),
            f("Fair trade-off. How's the guitar?"),
            u(
                "I kind of gave up on the acoustic and bought an electric, a Fender Squier "
                "Strat. it's SO much easier on the fingers",
                key="squier",
            ),
            f("That's a common switch. What are you learning now?"),
            u("some Arctic Monkeys riffs. way more fun than Wonderwall"),
            f("Sounds like the motivation is back. And the app?"),
            u("we got the app in the store! only friends using it so far"),
            f("A launch is a launch. Congratulations."),
            u("thanks. ok I'm going to drink tea and feel sorry for myself"),
            f("Tea and rest, good plan. Feel better."),
        ),
        s(
            "2023-12-20T08:50:00",
            u("good morning from Friedrichshain ☕"),
            f("Good morning! How's the new flat?"),
            u(
                "I love it. moved in on the 1st, it's on Boxhagener Straße right by the market,"
                " and I have a real kitchen",
                key="fhain_moved",
            ),
            f("A real kitchen is life-changing after a sublet. Have you cooked yet?"),
            u("I made my mom's bigos last weekend. smelled like home"),
            f("That's a lovely way to make a place yours. Any plans for Christmas?"),
            u(
                "I'm taking the train back to Kraków on the 22nd, staying till the 2nd. Wigilia"
                " at my parents, then New Year with Ola's friends",
                key="xmas",
            ),
            f("That sounds lovely. Is the train long?"),
            u("about 8 hours, I'll bring the laptop and work on Tallybook"),
            f("A productive trip. How is the app doing?"),
            u("it's growing! we have 200 beta users now, mostly from a reddit post Marek made", key="beta"),
            f("200 is a real milestone. Any feedback yet?"),
            u("people want Revolut import. so that's my Christmas present to myself lol"),
            f("Ha, the gift of parsing CSVs. How is Ola doing?"),
            u(
                "so, big news. we decided long distance is too hard. Ola is moving to Berlin in"
                " March! she got a job at a pharmacy in Prenzlauer Berg",
                key="ola_move",
            ),
            f("That's wonderful news! How do you feel?"),
            u("so happy. also nervous about two people in a one bedroom"),
            f("That's a fair worry, but you'll figure it out. Does she speak German?"),
            u("she's taking classes, she's better than me already honestly"),
            f("Ha, that'll be useful. Sounds like 2024 is going to be a good year."),
            u("I hope so. ok, standup in 5 mins. talk later!"),
            f("Have a good standup!"),
        ),
    ),
)

TOMASZ_QUESTIONS = (
    q("c2", "single-hop", "2023-12-21T09:00:00", ("ola_job",), "What is Ola's profession?"),
    q(
        "c2",
        "single-hop",
        "2023-12-21T09:00:00",
        ("wonderwall",),
        "Which song did Tomasz try to learn when he first started playing guitar?",
    ),
    q("c2", "single-hop", "2023-12-21T09:00:00", ("jana",), "Who is my manager at the new job?"),
    q(
        "c2",
        "single-hop",
        "2023-12-21T09:00:00",
        ("marek", "marek2"),
        "Who is Tomasz building his side project with?",
    ),
    q(
        "c2",
        "single-hop",
        "2023-12-21T09:00:00",
        ("rename",),
        "Why did Tomasz have to change his app's name?",
    ),
    q(
        "c2",
        "single-hop",
        "2023-12-21T09:00:00",
        ("flinkwerk",),
        "What does the Berlin company Tomasz joined make?",
    ),
    q("c2", "update", "2023-12-21T09:00:00", ("rename",), "What is the name of Tomasz's budgeting app?"),
    q(
        "c2",
        "update",
        "2023-12-21T09:00:00",
        ("fhain_moved", "fhain_found"),
        "Which Berlin neighbourhood do I live in now?",
    ),
    q("c2", "update", "2023-12-21T09:00:00", ("squier",), "What guitar is Tomasz playing these days?"),
    q(
        "c2",
        "update",
        "2023-12-21T09:00:00",
        ("ola_move",),
        "Are Tomasz and Ola still planning to stay long-distance?",
    ),
    q("c2", "temporal", "2023-12-21T09:00:00", ("offer",), "When did Tomasz start his job in Berlin?"),
    q(
        "c2",
        "temporal",
        "2023-12-21T09:00:00",
        ("ola_visit",),
        "What did Ola and I do when she visited last month?",
    ),
    q("c2", "temporal", "2023-12-21T09:00:00", ("flu",), "What illness did Tomasz have in November?"),
    q(
        "c2",
        "temporal",
        "2023-12-21T09:00:00",
        ("xmas",),
        "What did I tell you yesterday about my Christmas plans?",
    ),
    q(
        "c2",
        "multi-hop",
        "2023-12-21T09:00:00",
        ("pagora", "offer"),
        "Which employer did Tomasz leave to join the logistics startup?",
    ),
    q(
        "c2",
        "multi-hop",
        "2023-12-21T09:00:00",
        ("marek", "rename", "beta"),
        "How many beta users does the app Tomasz builds with his university friend have?",
    ),
    q(
        "c2",
        "adversarial",
        "2023-12-21T09:00:00",
        ("sublet",),
        "Where did Tomasz crash at first while he hunted for somewhere permanent?",
    ),
)


# Priya Raman: marine-biology PhD student in San Diego; kelp fieldwork, half marathon, diet, roommates.
PRIYA = Conversation(
    id="c3",
    user="Priya",
    sessions=(
        s(
            "2024-01-09T07:45:00",
            u("good morning! just got back from a 5 mile run and I feel like a new person"),
            f("Good morning Priya! That's a strong start to a Tuesday. Are you training for something?"),
            u(
                "yes!! I signed up for the La Jolla half marathon on April 21st. my first half ever",
                key="race",
            ),
            f("That's exciting. How far have you run before?"),
            u("10k is my longest. so I have a plan from an app, 4 runs a week, building up slowly"),
            f("That sounds sensible. How are you fitting it in with the PhD?"),
            u("badly lol. I run before the lab gets busy. third year is when everything piles up"),
            f("What are you working on these days?"),
            u(
                "my thesis is on kelp forest recovery after marine heatwaves, mostly giant kelp"
                " off southern California",
                key="thesis",
            ),
            f("That's such an important topic. Is it a lot of fieldwork?"),
            u(
                "a lot. I'm going out to Catalina Island at the end of January for four days of"
                " diving to survey our transects",
                key="catalina_plan",
            ),
            f("That sounds amazing and also cold. What's the water like in January?"),
            u("like 58 degrees. I have a 7mm wetsuit and I still hate my life for the first ten minutes"),
            f("Ha, dedication. Who's looking after you during the dives?"),
            u("it's a team of five, my advisor Dr. Hollis comes along, he's been diving there for 20 years"),
            f("Sounds like you're in good hands. Who watches your cat while you're away?"),
            u(
                "my roommate Dani! Pixel loves her more than me honestly. Pixel is a little "
                "orange tabby, three years old, very dramatic",
                key="pixel",
            ),
            f("Orange cats are famous for drama. How long have you and Dani lived together?"),
            u("two years, she's a nurse at Scripps hospital so our schedules are weird but it works"),
            f("That's good. Are you eating enough for all this running?"),
            u(
                "I try! I've been vegetarian for six years, so protein is always a thing I have"
                " to think about",
                key="vegetarian",
            ),
            f("Lentils and tofu working overtime, I guess."),
            u("and eggs, so many eggs. ok shower and then lab. bye!"),
            f("Have a good day in the lab!"),
        ),
        s(
            "2024-02-03T18:20:00",
            u("back on land 🌊"),
            f("Welcome back! How was Catalina?"),
            u(
                "amazing and exhausting. we did four days of dives on Catalina, two a day, and "
                "the kelp on the north side is coming back way better than I expected",
                key="catalina",
            ),
            f("That's good news for your thesis! What were you measuring?"),
            u(
                "kelp density mostly, and I was counting urchins along every transect. some "
                "spots have like 30 per square meter, it's a carpet of purple spikes",
                key="urchins",
            ),
            f("That sounds like a lot of counting. Any drama on the trip?"),
            u(
                "I got horribly seasick on the boat ride over. Dr. Hollis just handed me ginger"
                " candy and kept talking about sea otters"
            ),
            f("Ha, the veteran move. Did the ginger help?"),
            u("a little. mostly I just lay down on the deck"),
            f("Did Pixel survive without you?"),
            u(
                "she got a UTI while I was gone, poor baby. Dani took her to the vet, it was "
                "$340 with the urine test and antibiotics",
                key="pixel_vet",
            ),
            f("Oh no, poor Pixel. Is she okay now?"),
            u("she's fine now, just very offended about the pills"),
            f("Cats always are. How's the training going?"),
            u("did my first 10 mile run last Sunday! slow but I did it"),
            f("Congrats, double digits is a big milestone."),
            u("yeah! felt amazing after, horrible the next day"),
            f("Sounds about right. Anything fun coming up?"),
            u(
                "my brother Vikram is coming from Chicago in March, I'm so excited, I haven't "
                "seen him since Diwali",
                key="vikram_plan",
            ),
            f("That's lovely. What does Vikram do?"),
            u("he's an architect, works at some big firm. he'll want to see every building in San Diego lol"),
            f("Ha, maybe a tour of the Salk Institute then."),
            u("oh that's actually a perfect idea"),
        ),
        s(
            "2024-02-25T21:10:00",
            u("can I tell you something that'll make you laugh"),
            f("Always. What is it?"),
            u("I went vegan. like fully. starting last Monday", key="vegan"),
            f("Oh wow! What made you decide?"),
            u(
                "my labmate Chloe has been vegan for years and after she lent me her cookbook "
                "and we watched a documentary together I just... decided. eggs were my last "
                "thing anyway",
                key="chloe",
            ),
            f("That's a thoughtful switch. How's the first week been?"),
            u("okay! mostly I miss cheese on pizza"),
            f("That's the common one. Are you getting enough protein for the running?"),
            u("tempeh and seitan and soy milk. Chloe made me a meal plan"),
            f("Sounds like you have good support. How's the running?"),
            u(
                "ugh. I have shin splints. my PT says no running for a week, just cycling and icing",
                key="shins",
            ),
            f("I'm sorry, that's frustrating. Did you build up too fast?"),
            u("probably, I added hills and distance in the same week. rookie mistake"),
            f("It happens. A week off now is better than missing the race."),
            u(
                "that's what everyone says. also my committee meeting is set for March 14th and I'm nervous",
                key="committee_plan",
            ),
            f("What happens at the committee meeting?"),
            u(
                "I present my progress, they poke at my stats and tell me what to fix. three "
                "professors plus Dr. Hollis"
            ),
            f("You've got a lot of Catalina data to show them, at least."),
            u("true. I'm making figures all week"),
            f("Anything else going on?"),
            u(
                "my poster got accepted at a kelp symposium in Monterey in May, so that's a small win",
                key="poster",
            ),
            f("That's a great win! Congrats."),
            u("thanks! ok Pixel is sitting on my laptop, that's my sign to sleep"),
            f("Pixel knows best. Good night!"),
        ),
        s(
            "2024-03-16T12:30:00",
            u("hiii"),
            f("Hi Priya! How did the committee meeting go?"),
            u(
                "really well actually! it was on Thursday. they liked the Catalina results, but"
                " Dr. Hollis wants an extra chapter on the temperature logger data",
                key="committee",
            ),
            f("That's a good outcome, even with the extra chapter. How do you feel about it?"),
            u("tired thinking about it but it'll make the thesis stronger"),
            f("That's a good attitude. How was Vikram's visit?"),
            u(
                "so fun. he was here last weekend, we hiked Torrey Pines, went to the Salk "
                "Institute like you said, and ate at a taco shop in Barrio Logan three times",
                key="vikram_visit",
            ),
            f("Three times is a strong endorsement. Did he like San Diego?"),
            u("he's threatening to move here lol. Chicago in March is grim"),
            f("Fair enough. How's the new diet going?"),
            u("still going! I made a cashew mac and cheese for Vikram and he didn't notice"),
            f("That's a win. And the shins?"),
            u("healed! I'm back to full runs, did 11 miles last week"),
            f("Great to hear you're back on track."),
            u(
                "bad news though, Dani is moving out at the end of March. she got a job at a hospital in LA",
                key="dani_leaving",
            ),
            f("Oh no, that's a big change. Do you have a new roommate lined up?"),
            u("I posted on the grad housing board. Pixel is going to be heartbroken"),
            f("Hopefully you'll find someone Pixel approves of."),
            u("she has high standards. ok, off to work on figures"),
            f("Good luck with the temperature chapter!"),
        ),
        s(
            "2024-04-23T17:00:00",
            u("I DID IT"),
            f("The half marathon? How did it go?"),
            u(
                "yes! the half was Sunday morning, finished in 2:04:31. my goal was under 2:10 "
                "so I'm thrilled",
                key="finish",
            ),
            f("That's a fantastic time for your first half! Congratulations!"),
            u("thank you!! my legs are destroyed. I'm walking down stairs backwards"),
            f("Ha, classic post-race. Who came to cheer?"),
            u('Chloe and my new roommate held a sign that said "run like there\'s free vegan cheese"'),
            f("Ha! Who's the new roommate?"),
            u(
                "Lena, she moved in on April 1st. she's a first year in oceanography, German, very tidy",
                key="lena",
            ),
            f("Sounds promising. How does Pixel feel about her?"),
            u("Pixel sleeps on her bed now. traitor"),
            f("So she passed the test. Any other news?"),
            u(
                "big one. Dr. Hollis accepted a job at the University of Hawaii, he leaves in "
                "the summer. so I'll be co-advised by Dr. Moreno here, she works on kelp "
                "genetics",
                key="moreno",
            ),
            f("That's a big change. How do you feel about it?"),
            u(
                "mixed. Hollis will stay on my committee remotely, and Moreno is lovely, but "
                "it's a lot of change at once"
            ),
            f("That makes sense. Is the extra chapter still happening?"),
            u("yes, Moreno actually thinks it's the best part now"),
            f("That's encouraging. Are you still going to Monterey in May?"),
            u("yes! poster is almost done"),
            f("Great. Enjoy the rest day, you earned it."),
            u("I will. ice bath and Netflix"),
        ),
    ),
)

PRIYA_QUESTIONS = (
    q("c3", "single-hop", "2024-04-25T10:00:00", ("thesis",), "What is Priya's PhD research about?"),
    q("c3", "single-hop", "2024-04-25T10:00:00", ("pixel",), "What does Priya's cat look like?"),
    q(
        "c3",
        "single-hop",
        "2024-04-25T10:00:00",
        ("pixel_vet",),
        "How much did the vet visit for my cat cost?",
    ),
    q(
        "c3",
        "single-hop",
        "2024-04-25T10:00:00",
        ("catalina", "catalina_plan"),
        "Where did Priya go diving for her fieldwork?",
    ),
    q("c3", "single-hop", "2024-04-25T10:00:00", ("shins",), "What running injury did Priya get?"),
    q("c3", "single-hop", "2024-04-25T10:00:00", ("chloe",), "Who got me into veganism?"),
    q("c3", "update", "2024-04-25T10:00:00", ("vegan",), "What diet is Priya following now?"),
    q("c3", "update", "2024-04-25T10:00:00", ("lena",), "Who is Priya's roommate now?"),
    q("c3", "update", "2024-04-25T10:00:00", ("moreno",), "Who will be advising Priya's thesis from now on?"),
    q(
        "c3",
        "temporal",
        "2024-04-25T10:00:00",
        ("committee", "committee_plan"),
        "When did Priya have her committee meeting?",
    ),
    q(
        "c3",
        "temporal",
        "2024-04-25T10:00:00",
        ("finish",),
        "What did I tell you two days ago about the race?",
    ),
    q(
        "c3",
        "temporal",
        "2024-04-25T10:00:00",
        ("vikram_visit",),
        "What did Priya do with her brother in March?",
    ),
    q(
        "c3",
        "temporal",
        "2024-04-25T10:00:00",
        ("pixel_vet",),
        "What was wrong with Pixel in early February?",
    ),
    q(
        "c3",
        "multi-hop",
        "2024-04-25T10:00:00",
        ("race", "finish"),
        "How did Priya do in the race she signed up for in January?",
    ),
    q(
        "c3",
        "multi-hop",
        "2024-04-25T10:00:00",
        ("dani_leaving", "lena"),
        "Why did Priya's old roommate move out, and who replaced her?",
    ),
    q(
        "c3",
        "adversarial",
        "2024-04-25T10:00:00",
        ("urchins",),
        "Which spiky creatures was Priya tallying underwater?",
    ),
)


# Diego Alvarez: sous chef in Austin opening a taco truck; daughter, knee injury, location and prices.
DIEGO = Conversation(
    id="c4",
    user="Diego",
    sessions=(
        s(
            "2023-05-14T23:30:00",
            u("just got off the line. sunday brunch AND dinner service, my feet are gone"),
            f("That's a long day, Diego. Busy night at the restaurant?"),
            u(
                "always busy at Larkspur on sundays. I've been sous chef there three years and "
                "sundays still kill me",
                key="larkspur",
            ),
            f("Three years as sous chef, that's a lot of experience. Are you thinking of moving on?"),
            u("funny you ask. I did something crazy this week"),
            f("Now I'm curious. What did you do?"),
            u(
                "I bought a food truck. used, a 2014 step van from a guy in San Marcos, "
                "$28,000. it used to be a crepe truck",
                key="truck_buy",
            ),
            f("Wow! That's a huge step. Is this the taco plan you've been dreaming about?"),
            u("yes. tacos. been saving for like five years. it's happening"),
            f("That's amazing. Does the truck need a lot of work?"),
            u(
                "new flat top, new fryer, the fridge is ok. and the whole outside is pink with "
                "crepes painted on it lol"
            ),
            f("A pink crepe truck selling tacos would be quite a look."),
            u("my daughter Lucía wants to keep it pink. she's 7, she thinks it's the best thing ever"),
            f("Ha, she has a point. Does she get to help?"),
            u(
                "she's with me every other weekend, she lives with her mom Carmen during the "
                'week. so weekends she\'s my "inspector"',
                key="custody",
            ),
            f("That's a sweet job title. How's everything else?"),
            u(
                "my left knee is killing me honestly. when I kneel to get stuff from the low-"
                "boy fridge it clicks and then hurts for hours",
                key="knee_pain",
            ),
            f("That doesn't sound great. Have you had it checked?"),
            u("no time. I'll ice it"),
            f("It might be worth seeing someone before the truck keeps you on your feet even more."),
            u("yeah yeah. you sound like my mom"),
            f("Ha, she's probably right too. Get some sleep!"),
        ),
        s(
            "2023-06-04T15:10:00",
            u("day off!! working on the truck all day in my cousin's driveway"),
            f("Sounds like a productive day off. How's it coming along?"),
            u(
                "good. we picked a name finally: El Faro. like the lighthouse. my grandpa had a"
                " little fonda in Veracruz with that name",
                key="name",
            ),
            f("That's a beautiful name with a story behind it."),
            u(
                "my cousin Beto is designing the wrap, he does graphic design. deep blue with a"
                " lighthouse and the beam made of chiles",
                key="beto",
            ),
            f("That sounds striking. Is the pink going?"),
            u("Lucía is devastated but yes lol. Beto promised to hide a tiny pink crepe somewhere"),
            f("That's a nice compromise. What's the next step?"),
            u(
                "the health inspection is June 20th. if I pass I can get the permit and start selling",
                key="inspection_plan",
            ),
            f("Big date. Do you feel ready?"),
            u("the commissary kitchen is sorted, truck still needs the new hood installed. tight but doable"),
            f("Fingers crossed. Anything happening with Lucía?"),
            u(
                "her birthday is June 10th, she's turning 8. we're doing a party at Zilker park"
                " with a piñata shaped like a taco, her request",
                key="bday_plan",
            ),
            f("A taco piñata is perfect given everything. Is Carmen coming too?"),
            u("yeah we're good, we co-parent fine. she's bringing the cake"),
            f("That's great for Lucía. Did you see anyone about the knee?"),
            u("not yet. it's fine"),
            f("Diego..."),
            u("okay okay I'll book something after the inspection"),
            f("I'll hold you to that."),
            u("ha ok. back to sanding"),
            f("Good luck with the hood install!"),
        ),
        s(
            "2023-07-01T09:40:00",
            u("it's official, I'm unemployed lol"),
            f("Did you leave Larkspur?"),
            u(
                "yesterday was my last shift at Larkspur. the crew made me a cake shaped like a"
                " taco truck, I almost cried",
                key="quit",
            ),
            f("That's lovely. Big moment. How are you feeling?"),
            u("terrified. but we passed the inspection!"),
            f("Congratulations! How did it go?"),
            u(
                "the inspector was super strict on the June 20th visit, made me re-label all my"
                " containers, but we passed and I have the permit",
                key="inspection",
            ),
            f("That's a relief. When do you open?"),
            u(
                "soft opening is next Saturday, July 8th, at Cosmic Hops brewery on East 6th. "
                "they let trucks park on their patio",
                key="soft_open",
            ),
            f("A brewery crowd sounds like a good fit for tacos. What's on the menu?"),
            u("birria tacos with consomé, al pastor, and carnitas. plus chips and Lucía's favorite, elote"),
            f("That sounds delicious. Anything for non-meat-eaters?"),
            u(
                'yep, mushroom "al pastor" with oyster mushrooms and pineapple. tried it on my '
                "vegan friend and she approved",
                key="veg",
            ),
            f("That sounds really good, honestly. How was Lucía's birthday?"),
            u("chaos, 14 kids and one taco piñata. she loved it"),
            f("Sounds like a perfect party. And the knee?"),
            u(
                "I finally went. the orthopedist did an MRI, it's a torn meniscus. for now "
                "physical therapy twice a week",
                key="meniscus",
            ),
            f("I'm glad you got it checked. Can you work on it?"),
            u("yeah, with a brace. surgery maybe later if PT doesn't help"),
            f("Take it easy where you can. Good luck on the 8th!"),
            u("gracias!! come eat tacos lol"),
            f("If only I could!"),
        ),
        s(
            "2023-08-05T22:15:00",
            u("one month of El Faro 🌮"),
            f("Happy one month! How's it going?"),
            u("honestly better than I expected. we sold out of birria 9 times"),
            f("That's a great sign. Is birria the best seller?"),
            u("by far. people drive across town for the consomé"),
            f("Still at the brewery?"),
            u(
                "no, we moved. we left Cosmic Hops after two weeks because it was only busy "
                "Friday and Saturday. now we're at a truck park on South Congress, way more "
                "foot traffic",
                key="location",
            ),
            f("Good move. How's business there?"),
            u("double on weekdays. I had to hire help"),
            f("Who did you hire?"),
            u(
                "Marisol, she used to be a server at Larkspur. she takes the orders and runs "
                "the register so I can just cook",
                key="marisol",
            ),
            f("Having someone you know from Larkspur must make it easier."),
            u("so much easier. she's also way better with customers than me lol"),
            f("How's the heat? Austin in August in a metal truck sounds brutal."),
            u(
                "it's 120 degrees inside the truck. and the generator died on Tuesday in the "
                "middle of lunch rush. had to close for the day and buy a new one, $2,400",
                key="generator",
            ),
            f("Ouch, that's painful. Is the new one working well?"),
            u("quieter too. silver lining"),
            f("Has Lucía been to the new spot?"),
            u(
                "she worked the window with Marisol last weekend and invented a salsa, mango "
                'habanero, so now it\'s on the menu as "Salsa de Lucía"',
                key="salsa",
            ),
            f("That's adorable, and a great menu item."),
            u("it sells out too lol. she wants royalties"),
            f("She's a businesswoman already."),
            u("ha, just like her dad. ok, prep for tomorrow. good night"),
            f("Good night, Diego!"),
        ),
        s(
            "2023-09-17T08:30:00",
            u("morning! guess who's in the Austin Chronicle", key="chronicle0"),
            f("No way! El Faro?"),
            u(
                'yes, "10 new food trucks to try this fall". they called the birria "worth the '
                'sweat". I laughed so hard',
                key="chronicle",
            ),
            f("That's a great line. Has it brought in more customers?"),
            u("lines around the block on Friday. we ran out by 7pm"),
            f("That's amazing. Are you thinking about raising prices?"),
            u(
                "already did. birria tacos went from $4 to $4.50 on Monday, beef prices are "
                "insane. nobody complained",
                key="price",
            ),
            f("Good, that sounds fair. Any big changes at home?"),
            u(
                "yeah, big one. Carmen got a job offer in Houston she couldn't turn down, so we"
                " agreed Lucía will live with me during the school week and go to Houston every"
                " other weekend",
                key="custody_change",
            ),
            f("That's a huge change. How is Lucía taking it?"),
            u("she's excited to be near the truck, sad about her mom. she started 3rd grade here last month"),
            f("That sounds like a lot for her, but it sounds like you're both handling it."),
            u("we're figuring it out. Marisol's mom is going to pick her up from school some days"),
            f("That's a good support network. And the knee?"),
            u("PT didn't fix it. surgery is October 3rd, arthroscopic. two weeks off my feet", key="surgery"),
            f("Who'll run the truck?"),
            u(
                "Marisol and my cousin Beto will run it with a smaller menu. Beto can't cook "
                "birria like me but he's learning",
                key="cover",
            ),
            f("Good to have a plan. Are you nervous about the surgery?"),
            u("about the surgery no, about two weeks on the couch, yes"),
            f("Ha, that might be the hardest part for you."),
            u("100%. ok, opening in an hour"),
            f("Have a great day, Diego!"),
        ),
    ),
)

DIEGO_QUESTIONS = (
    q("c4", "single-hop", "2023-09-20T10:00:00", ("truck_buy",), "How much did Diego pay for his truck?"),
    q(
        "c4",
        "single-hop",
        "2023-09-20T10:00:00",
        ("beto",),
        "Who came up with the design on the outside of Diego's truck?",
    ),
    q(
        "c4",
        "single-hop",
        "2023-09-20T10:00:00",
        ("larkspur", "quit"),
        "Where was I working before I started the food truck?",
    ),
    q("c4", "single-hop", "2023-09-20T10:00:00", ("veg",), "What meatless option does Diego sell?"),
    q("c4", "single-hop", "2023-09-20T10:00:00", ("salsa",), "What did Lucía invent for the truck?"),
    q(
        "c4",
        "single-hop",
        "2023-09-20T10:00:00",
        ("meniscus",),
        "What did the orthopedist find in Diego's knee?",
    ),
    q("c4", "update", "2023-09-20T10:00:00", ("location",), "Where is Diego's truck parked these days?"),
    q("c4", "update", "2023-09-20T10:00:00", ("price",), "How much does a birria taco cost at El Faro now?"),
    q(
        "c4",
        "update",
        "2023-09-20T10:00:00",
        ("custody_change",),
        "Who does Lucía live with on school days now?",
    ),
    q(
        "c4",
        "temporal",
        "2023-09-20T10:00:00",
        ("quit",),
        "When did Diego work his last shift at the restaurant?",
    ),
    q("c4", "temporal", "2023-09-20T10:00:00", ("generator",), "What broke on my truck in early August?"),
    q(
        "c4",
        "temporal",
        "2023-09-20T10:00:00",
        ("inspection_plan", "inspection"),
        "What happened on June 20th for Diego's business?",
    ),
    q(
        "c4",
        "temporal",
        "2023-09-20T10:00:00",
        ("chronicle0", "chronicle"),
        "What did I tell you three days ago about the newspaper?",
    ),
    q(
        "c4",
        "multi-hop",
        "2023-09-20T10:00:00",
        ("bday_plan", "surgery"),
        "How old will Lucía be when Diego has his knee operation?",
    ),
    q(
        "c4",
        "multi-hop",
        "2023-09-20T10:00:00",
        ("soft_open", "location"),
        "Where did El Faro first open, and where did it go after?",
    ),
    q(
        "c4",
        "adversarial",
        "2023-09-20T10:00:00",
        ("marisol",),
        "Who takes care of customers and the cash at El Faro?",
    ),
)


# Hannah Becker: retired teacher in Vermont; garden, hens, book club, knee replacement, trip to Scotland.
HANNAH = Conversation(
    id="c5",
    user="Hannah",
    sessions=(
        s(
            "2024-04-07T10:20:00",
            u("Good morning. I'm told I should try talking to you, my granddaughter set this up."),
            f("Good morning, Hannah! I'm glad she did. How are you today?"),
            u("Quite well, thank you. It's a grey Sunday here in Vermont but my seedlings are up."),
            f("Seedlings already! What are you growing?"),
            u(
                "Tomatoes, six kinds. Brandywine, Sungold, Cherokee Purple, San Marzano, and "
                "two I can't remember the names of. They're on every windowsill.",
                key="tomatoes",
            ),
            f("That sounds like a wonderful collection. Have you always gardened?"),
            u(
                "For years, but I have much more time now. I retired last June after 31 years "
                "teaching fourth grade.",
                key="teacher",
            ),
            f("Thirty-one years is remarkable. Do you miss it?"),
            u("The children, yes. The paperwork, not at all."),
            f("That sounds like the right balance. Who do you share your garden with?"),
            u(
                "My husband Walt. He was a carpenter for forty years, so he builds the raised "
                "beds and I tell him where to put them.",
                key="walt",
            ),
            f("That sounds like a very efficient partnership."),
            u("Fifty-two years married, we've worked it out."),
            f("Congratulations. Do you have family nearby?"),
            u(
                "Our daughter Claire lives in Burlington with her husband and their two, Oliver"
                " who is five and Maisie who just turned two.",
                key="grandkids",
            ),
            f("How lovely. Do you see them often?"),
            u("Most Sundays, though not this one. Maisie has an ear infection."),
            f("I hope she feels better soon. What else keeps you busy?"),
            u(
                "Book club on the first Thursday. We're reading Lessons in Chemistry this "
                "month. I'm enjoying it more than I expected.",
                key="book1",
            ),
            f("That one's been popular. Anything else coming up?"),
            u(
                "My right knee is being replaced on May 13th. I've put it off for three years "
                "and Walt finally put his foot down.",
                key="knee_plan",
            ),
            f(
                "That's a big surgery, but a lot of people feel so much better after. How are "
                "you feeling about it?"
            ),
            u("Nervous, but I'd like to walk to the post office again without wincing."),
            f("That's a good goal to have. I hope the seedlings are strong by then."),
            u("They'd better be. Walt will be in charge of planting if I'm laid up."),
        ),
        s(
            "2024-04-28T16:00:00",
            u("Hello again. We had some drama in the henhouse."),
            f("Oh no, what happened?"),
            u(
                "A fox got in on Wednesday night and took Henrietta, one of our Buff "
                "Orpingtons. We're down to four hens.",
                key="fox",
            ),
            f("I'm so sorry. That's awful. How did the fox get in?"),
            u("Dug under the fence. Walt spent all of Thursday burying hardware cloth."),
            f("Hopefully that keeps them safe now. How are the other hens?"),
            u("Skittish. Laying less. They'll settle."),
            f("Poor things. How are your seedlings doing?"),
            u("Moved to the cold frame this week to harden off. The Sungolds are the strongest."),
            f("Sounds like they're on track. How's book club?"),
            u(
                "We switched books actually. Half the group had already read Lessons in "
                "Chemistry, so now we're on Demon Copperhead.",
                key="book2",
            ),
            f("That one is quite a different read. Are you enjoying it?"),
            u("It's heartbreaking. Beautiful writing though."),
            f("Any other plans coming up?"),
            u(
                "Yes! My friend Joan and I are planning a trip to Scotland in August. Edinburgh"
                " first and then the Isle of Skye.",
                key="scotland_plan",
            ),
            f("How exciting! Is Walt going?"),
            u("Walt doesn't fly. He says the last time was 1987 and that was enough."),
            f("Ha, fair enough. Have you and Joan traveled together before?"),
            u("We went to Ireland in 2019. We taught together for twenty years, she's my oldest friend."),
            f("That sounds like a wonderful travel companion. What are you most looking forward to?"),
            u("Seeing the Highlands. My grandmother's family came from near Inverness."),
            f("That would be a meaningful trip then."),
            u("I think so. But first, the knee."),
            f("One thing at a time."),
        ),
        s(
            "2024-05-26T11:00:00",
            u("Hello. I'm writing from the recliner."),
            f("Hello Hannah! How did the surgery go?"),
            u(
                "The knee was done on the 13th as planned. The surgeon was pleased. I was on a "
                "walker for the first week and now I've graduated to a cane.",
                key="knee_done",
            ),
            f("That's great progress in under two weeks. How's the pain?"),
            u("Manageable. The physical therapy is the worst part."),
            f("Who's your physical therapist?"),
            u(
                "A very cheerful young man named Trevor. He makes me do leg lifts and tells me "
                'I\'m doing "awesome." I was a teacher, I know that trick.',
                key="trevor",
            ),
            f("Ha, you'd recognize positive reinforcement anywhere. Is it helping?"),
            u("It is. I bend it to 95 degrees now."),
            f("That's good. How's the garden coming along without you?"),
            u(
                "Walt planted everything under my supervision from a lawn chair. He only put "
                "one row of beans in the wrong place."
            ),
            f("Only one, that's a success!"),
            u("Claire brought the children over last weekend. Oliver signed my bandage with a dinosaur."),
            f("How sweet. Is Maisie over her ear infection?"),
            u('Completely, and she\'s talking in sentences now. "Grandma leg broken."'),
            f("Ha, not wrong exactly."),
            u("Not wrong at all."),
            f("Will you still be able to go to Scotland?"),
            u("The surgeon says by August I should be walking fine if I keep up the exercises."),
            f("That's good motivation."),
            u('It is. Trevor knows it too, he keeps saying "think of the Highlands."'),
        ),
        s(
            "2024-06-23T19:45:00",
            u("Good evening. I walked to the mailbox and back without the cane today!"),
            f("That's wonderful, Hannah! How did it feel?"),
            u("Wobbly but triumphant."),
            f("As it should. How's the garden?"),
            u(
                "We've been picking peas all week, the sugar snaps are the sweetest we've had. "
                "The tomatoes are all in and flowering.",
                key="peas",
            ),
            f("That sounds lovely. Anything else growing well?"),
            u(
                "The strawberries went wild. I made fourteen jars of jam on Friday. Walt says "
                "I've made enough for a decade.",
                key="jam",
            ),
            f("Fourteen jars! You could open a shop."),
            u("Claire took four. The rest are for Christmas presents."),
            f("What a thoughtful idea. How's the Scotland planning going?"),
            u(
                "A change there, unfortunately. Joan fell and broke her hip, so she can't "
                "travel. Her sister Ruth is coming with me instead. I've met Ruth many times, "
                "she's a retired nurse and a hoot.",
                key="ruth",
            ),
            f("Oh, poor Joan. I'm glad the trip is still on. Is Joan okay?"),
            u("She's recovering at home. I bring her jam."),
            f("Of course you do. How is book club?"),
            u(
                "We finished Demon Copperhead and now we're reading The Covenant of Water. It's"
                " 700 pages, everyone is complaining.",
                key="book3",
            ),
            f("That's a commitment. Are you enjoying it?"),
            u("So far. It's set in India, very different from our usual."),
            f("That sounds like a good change. How are the hens?"),
            u("Laying again. Walt swears one of them winks at him."),
            f("Ha, I believe it."),
            u("Well, I should get dinner going. Walt's been hovering."),
            f("Enjoy your dinner!"),
        ),
        s(
            "2024-07-28T08:15:00",
            u("Morning. Coffee on the porch and a list a mile long."),
            f("Good morning! Getting ready for the trip?"),
            u(
                "Yes. We fly out of Boston on August 6th. Four nights in Edinburgh, then a "
                "train and a bus up to Skye for five nights.",
                key="itinerary",
            ),
            f("That sounds wonderful. Where are you staying on Skye?"),
            u("A little B&B in Portree. Ruth found it. It has a view of the harbor."),
            f("Lovely. Who's looking after the garden and hens?"),
            u(
                "Walt, of course. And the neighbors' boy. Speaking of hens, the Gagnons next "
                "door gave us two young Australorps, so we're back up to six.",
                key="hens",
            ),
            f("Six again, how nice. Are they getting along with the others?"),
            u("There was some pecking order business, but it's settled."),
            f("Good. Any family news?"),
            u("Big news! Claire is expecting again. The baby is due in January.", key="pregnant"),
            f("Congratulations, Hannah! How wonderful."),
            u("We're all thrilled. Oliver wants a brother, Maisie wants a puppy."),
            f("Ha, one of them might be disappointed."),
            u("Oliver started swimming lessons, too. He's very proud of putting his face in the water."),
            f("That's a big step at five. How's the knee?"),
            u("Good. I walked two miles on Thursday with Ruth to practice."),
            f("That's excellent. You'll be ready for the Highlands."),
            u("I hope so. I need to buy a proper rain jacket."),
            f("Definitely a must for Scotland."),
        ),
        s(
            "2024-08-25T17:30:00",
            u("Home again! Jet lagged but happy."),
            f("Welcome home, Hannah! How was Scotland?"),
            u(
                "Wonderful. Edinburgh castle in the rain, the Fairy Pools on Skye, and the knee"
                " did the whole walk without complaint.",
                key="highlights",
            ),
            f("That's fantastic. Did Ruth enjoy it?"),
            u(
                "Ruth did a tour at the Talisker distillery and declared it the best day of her"
                " life. I don't even like whisky but I had a sip.",
                key="talisker",
            ),
            f("Ha, when in Scotland. Did you get to Inverness?"),
            u("We did a day trip. I found the church where my great-grandmother was baptized."),
            f("That must have been very moving."),
            u("It was. I cried a little."),
            f("Of course. Any mishaps?"),
            u(
                "I left my phone in a taxi in Edinburgh on the second day. Gone for good. Ruth "
                "took all the photos after that. I bought a new one yesterday.",
                key="phone",
            ),
            f("Oh no, but at least Ruth had you covered. What did you get?"),
            u("Claire talked me into an iPhone. I don't understand it at all."),
            f("It'll take a little time. How was the garden when you got back?"),
            u("Tomatoes everywhere. Walt couldn't keep up. The Brandywines are enormous."),
            f("Sounds like sauce season."),
            u("That's tomorrow's project. Today is for napping."),
            f("Enjoy the nap. Welcome home."),
        ),
    ),
)

HANNAH_QUESTIONS = (
    q(
        "c5",
        "single-hop",
        "2024-08-28T10:00:00",
        ("teacher",),
        "What grade did Hannah teach before she retired?",
    ),
    q("c5", "single-hop", "2024-08-28T10:00:00", ("walt",), "What was Hannah's husband's trade?"),
    q("c5", "single-hop", "2024-08-28T10:00:00", ("fox",), "What killed one of my hens?"),
    q(
        "c5",
        "single-hop",
        "2024-08-28T10:00:00",
        ("trevor",),
        "Who is helping Hannah with her rehab exercises?",
    ),
    q("c5", "single-hop", "2024-08-28T10:00:00", ("talisker",), "Which distillery did Ruth visit?"),
    q(
        "c5",
        "single-hop",
        "2024-08-28T10:00:00",
        ("tomatoes",),
        "Which tomato varieties is Hannah growing this year?",
    ),
    q("c5", "update", "2024-08-28T10:00:00", ("book3",), "What book is Hannah's book club reading now?"),
    q(
        "c5",
        "update",
        "2024-08-28T10:00:00",
        ("ruth", "talisker", "phone"),
        "Who went to Scotland with Hannah?",
    ),
    q("c5", "update", "2024-08-28T10:00:00", ("hens",), "How many hens do I have now?"),
    q(
        "c5",
        "temporal",
        "2024-08-28T10:00:00",
        ("knee_plan", "knee_done"),
        "When did Hannah have her knee replaced?",
    ),
    q(
        "c5",
        "temporal",
        "2024-08-28T10:00:00",
        ("highlights",),
        "What did I tell you on Sunday about my trip?",
    ),
    q(
        "c5",
        "temporal",
        "2024-08-28T10:00:00",
        ("book1",),
        "What was Hannah's book club reading in early April?",
    ),
    q(
        "c5",
        "temporal",
        "2024-08-28T10:00:00",
        ("peas",),
        "What was Hannah picking from the garden in late June?",
    ),
    q(
        "c5",
        "multi-hop",
        "2024-08-28T10:00:00",
        ("grandkids", "pregnant"),
        "How many grandchildren will Hannah have once the baby arrives?",
    ),
    q(
        "c5",
        "multi-hop",
        "2024-08-28T10:00:00",
        ("itinerary", "phone"),
        "What did Hannah lose in the city where she spent four nights?",
    ),
    q(
        "c5",
        "adversarial",
        "2024-08-28T10:00:00",
        ("jam",),
        "What did Hannah preserve from her garden in June?",
    ),
)


# Kwame Mensah: physics teacher in Leeds; robotics club, first baby, car trouble, promotion.
KWAME = Conversation(
    id="c6",
    user="Kwame",
    sessions=(
        s(
            "2023-09-10T18:00:00",
            u("sunday night planning mode. school starts properly tomorrow"),
            f("Hi Kwame! New school year. How are you feeling about it?"),
            u(
                "good actually. I've got two year 11 physics groups and a year 13 A-level class"
                " this time, which I love",
                key="physics",
            ),
            f("A-level physics sounds like a fun class to teach. Where are you teaching these days?"),
            u("still at Kirkstall Academy, sixth year there now"),
            f("That's a good stretch. Anything new this year?"),
            u(
                "I'm coaching the robotics club properly this year. we're entering the VEX "
                "regional competition in December",
                key="robotics",
            ),
            f("That sounds exciting! How big is the team?"),
            u("eight kids, mostly year 10 and 11. really keen, a bit chaotic"),
            f("That's usually the best kind of team. What's happening at home?"),
            u("well... Efua is pregnant! due date is February 2nd. our first", key="due"),
            f("Congratulations, Kwame! That's wonderful news."),
            u("thank you! we only told people last week. my mum cried on the phone for ten minutes"),
            f("That's lovely. How is Efua feeling?"),
            u(
                "tired, lots of nausea in the first trimester, better now. she's still working "
                "full time at the council"
            ),
            f("Good that it's easing up. Are you ready for it?"),
            u("no lol. we haven't even sorted the spare room, it's full of my old football stuff"),
            f("There's still time. Do you still play?"),
            u(
                "five-a-side with the lads every Thursday, and season ticket at Elland Road "
                "with my brother. Leeds United through and through",
                key="fivea",
            ),
            f("A loyal supporter! How are they doing this season?"),
            u(
                "championship again, we got relegated in May. suffering as a Leeds fan is a lifestyle",
                key="leeds",
            ),
            f("That sounds painful. Here's hoping for promotion."),
            u("from your mouth to God's ears. right, I need to finish these lesson plans"),
            f("Good luck tomorrow!"),
        ),
        s(
            "2023-10-08T21:30:00",
            u("what a weekend"),
            f("Uh oh, good or bad?"),
            u(
                "bad start. my Focus broke down on the M62 on Friday night coming back from "
                "Manchester. clutch went completely. towed home, £800 to fix",
                key="clutch",
            ),
            f("Oh no, that's expensive and stressful. Were you okay?"),
            u(
                "yeah, just sat on the hard shoulder for 2 hours in the rain. the car's 11 "
                "years old, it's time"
            ),
            f("Are you thinking about replacing it?"),
            u("thinking yes, wallet says no. we need something reliable for the baby anyway"),
            f("That makes sense. How's the robotics club going?"),
            u(
                "brilliant actually. the kids built their first robot and named it Bolt. it can"
                " pick up rings and stack them, mostly",
                key="bolt",
            ),
            f("Mostly is good at this stage! Who's leading the team?"),
            u(
                "Zainab, she's in year 11, she's the captain. she runs the meetings better than"
                " I do honestly",
                key="zainab",
            ),
            f("Sounds like you have a natural leader there."),
            u("she wants to be an engineer. I've already written her a reference in my head"),
            f("That's lovely. How's Efua?"),
            u(
                "good! we found out it's a boy. her sister is throwing a baby shower for her in November",
                key="boy",
            ),
            f("A boy, congratulations! Have you picked a name?"),
            u(
                "we're stuck between Kofi and Samuel. Kofi because he'll be born on a Friday, "
                "that's the Ghanaian tradition, but Samuel after my dad",
                key="names",
            ),
            f("Both are meaningful. How will you decide?"),
            u("Efua says we'll know when we see him. I say we need a plan lol"),
            f("Very physics teacher of you."),
            u(
                "haha fair. also the school is advertising a Head of Physics post, the current "
                "one is retiring"
            ),
            f("Are you going to apply?"),
            u("thinking about it. more money, more meetings"),
            f("Worth thinking through. Anyway, I hope the car is back soon."),
            u("Tuesday, they said. fingers crossed"),
        ),
        s(
            "2023-11-05T10:00:00",
            u("morning. smell of smoke on all my clothes lol"),
            f("Bonfire night?"),
            u(
                "yeah we went to the fireworks at Roundhay Park last night. Efua wanted to go "
                "before the baby comes. massive crowds but worth it",
                key="bonfire",
            ),
            f("Sounds like a fun night. How is Efua feeling with all the walking?"),
            u("she did great, we left before the end to beat the crowds"),
            f("Sensible. Anything else new?"),
            u(
                "I dropped my phone in the school pond on Wednesday. during a lesson on "
                "density, of all things. the kids were crying laughing",
                key="phone",
            ),
            f("Oh no! That's the ultimate practical demonstration. Was it salvageable?"),
            u("nope. old Samsung is dead. got a Pixel 8 on Friday, the camera is unreal", key="pixel8"),
            f("Good for baby photos. What about the car?"),
            u(
                "sold the Focus last week and bought a Toyota Yaris hybrid, 2019. so quiet, I "
                "keep thinking it's off",
                key="yaris",
            ),
            f("That sounds much more reliable for the family."),
            u("60 miles to the gallon as well. my dad is very impressed"),
            f("Did you apply for the Head of Physics job?"),
            u(
                "yep. interview is on November 20th. I have to teach a lesson observed by the "
                "head and present a plan for the department",
                key="interview",
            ),
            f("That's a serious interview. What's your plan going to focus on?"),
            u("getting more girls into A-level physics. we had three out of twenty last year"),
            f("That's a meaningful goal. Zainab is a good example of why."),
            u("exactly what I'm going to say"),
            f("How was the baby shower?"),
            u("that's next Saturday. I'm banned, it's ladies only"),
            f("Ha, more time for interview prep then."),
            u("exactly"),
        ),
        s(
            "2023-12-10T20:15:00",
            u("massive weekend!!"),
            f("Tell me everything!"),
            u(
                "robotics regional was yesterday. we came SECOND out of 24 teams and qualified "
                "for the national finals in March",
                key="regional",
            ),
            f("Kwame, that's amazing! How did the kids react?"),
            u(
                "Zainab cried, two of the lads did a dance on the table, I almost got told off "
                "by the organisers"
            ),
            f("Sounds like the perfect reaction. And Bolt behaved?"),
            u(
                "mostly. one wheel fell off in the semi-final and they fixed it in 90 seconds. "
                "proud teacher moment"
            ),
            f("That's real engineering under pressure. Any news on the job?"),
            u("I got it! Head of Physics from January. they told me on the 24th", key="hop"),
            f("Congratulations! That's a big step."),
            u("thank you. the current head, Mr Patel, has been really supportive with the handover"),
            f("That's good. Have you and Efua settled on a name?"),
            u("we have! Kofi Samuel. both. compromise", key="name_decided"),
            f("That's perfect, a name from both sides."),
            u("Efua's mum approved, which is the real test"),
            f("Important approval. Are her parents coming for Christmas?"),
            u(
                "yes, from London, they arrive on the 23rd. the spare room is finally a nursery"
                " so they're on the sofa bed"
            ),
            f("Ha, the nursery won. How's Leeds doing?"),
            u("winning, actually! third in the table. I'm scared to hope"),
            f("Enjoy it while it lasts."),
            u("always do. right, marking"),
            f("Good night, Kwame!"),
        ),
        s(
            "2024-01-21T14:00:00",
            u("he's here 👶"),
            f("Kwame! Congratulations! When was he born?"),
            u(
                "last Sunday, January 14th, at 4:12am. Kofi Samuel, 6lb 9oz. a bit early but healthy",
                key="born",
            ),
            f("That's wonderful. How is Efua?"),
            u("tired but amazing. it was a long labour and she was a hero"),
            f("How are you holding up?"),
            u("I've slept maybe 3 hours a night. I've never been so tired or so happy"),
            f("That's the newborn life. Are you on leave?"),
            u(
                "two weeks paternity leave, back on the 29th. bad timing because I just started"
                " as Head of Physics on January 3rd",
                key="leave",
            ),
            f("The department will manage. Who's covering the robotics club?"),
            u(
                "Zainab is running practice for the national finals while I'm off. she sends me"
                " videos every day",
                key="zainab_leads",
            ),
            f("She sounds incredibly reliable. How's Kofi sleeping?"),
            u("in 2 hour bursts. he likes being walked around the kitchen at 3am"),
            f("Every baby has their preferences. Have the grandparents met him?"),
            u("both sets. my mum has basically moved in for a week"),
            f("That must be a big help."),
            u(
                "it is. I've stopped going to five-a-side for now, no way I'm running around on"
                " 3 hours sleep",
                key="quit_football",
            ),
            f("Wise. The football can wait."),
            u("Leeds won yesterday though, I watched with Kofi on my chest. his first match"),
            f("Starting him young. Congratulations again."),
        ),
    ),
)

KWAME_QUESTIONS = (
    q("c6", "single-hop", "2024-01-24T10:00:00", ("physics",), "What subject does Kwame teach?"),
    q(
        "c6",
        "single-hop",
        "2024-01-24T10:00:00",
        ("clutch",),
        "What part failed on Kwame's old car on the motorway?",
    ),
    q("c6", "single-hop", "2024-01-24T10:00:00", ("zainab",), "Who captains the robotics club?"),
    q("c6", "single-hop", "2024-01-24T10:00:00", ("fivea", "leeds"), "Which football club do I support?"),
    q("c6", "single-hop", "2024-01-24T10:00:00", ("phone",), "How did Kwame break his old phone?"),
    q(
        "c6",
        "single-hop",
        "2024-01-24T10:00:00",
        ("bolt",),
        "What is the name of the robot Kwame's students built?",
    ),
    q("c6", "update", "2024-01-24T10:00:00", ("yaris",), "What car does Kwame drive now?"),
    q("c6", "update", "2024-01-24T10:00:00", ("hop", "leave"), "What is my role at school now?"),
    q(
        "c6",
        "update",
        "2024-01-24T10:00:00",
        ("name_decided", "born"),
        "What name did Kwame and Efua give their son?",
    ),
    q("c6", "temporal", "2024-01-24T10:00:00", ("born",), "On what date was Kwame's son born?"),
    q(
        "c6",
        "temporal",
        "2024-01-24T10:00:00",
        ("regional",),
        "How did Kwame's robotics team do in December?",
    ),
    q("c6", "temporal", "2024-01-24T10:00:00", ("bonfire",), "What did I do on the evening of 4 November?"),
    q(
        "c6",
        "temporal",
        "2024-01-24T10:00:00",
        ("interview",),
        "What was Kwame preparing for on November 20th?",
    ),
    q(
        "c6",
        "multi-hop",
        "2024-01-24T10:00:00",
        ("due", "born"),
        "How many days before the due date was Kofi born?",
    ),
    q(
        "c6",
        "multi-hop",
        "2024-01-24T10:00:00",
        ("clutch", "yaris"),
        "How much did Kwame spend repairing the car he sold in late October?",
    ),
    q(
        "c6",
        "adversarial",
        "2024-01-24T10:00:00",
        ("fivea", "quit_football"),
        "What weekly game with friends has Kwame put on hold?",
    ),
)


# Sofia Lindqvist: illustrator, Gothenburg then Malmö; book deadline, breakup, climbing, rabbits, a wedding.
SOFIA = Conversation(
    id="c7",
    user="Sofia",
    sessions=(
        s(
            "2024-02-11T13:30:00",
            u("hej! rainy sunday in Gothenburg, drawing moths all day"),
            f("Hej Sofia! Moths? That sounds like a project."),
            u(
                "it's the picture book I'm illustrating, \"The Moth Who Loved the Moon\". 32 "
                "pages of moths and moonlight",
                key="book",
            ),
            f("What a lovely title. Who's publishing it?"),
            u("a small publisher in Stockholm, Lilla Ugglan. it's my second book with them", key="publisher"),
            f("That's great that they came back to you. When is it due?"),
            u("April 15th for final art. I'm at page 9 of 32 so... yeah", key="deadline1"),
            f("That's a tight schedule. How many pages a week do you need?"),
            u("like 3, which is doable if nothing goes wrong. famous last words"),
            f("Ha. What do you do when you need a break from drawing?"),
            u(
                "climbing! I go to Klätterverket twice a week, bouldering mostly. it's the only"
                " time I'm not thinking about moths",
                key="climbing",
            ),
            f("That's a good balance to have. Do you go alone?"),
            u("sometimes with Emil, but he prefers running"),
            f("Is Emil your partner?"),
            u(
                "yeah, four years now. he's a sound engineer, does live concerts mostly, so "
                "he's away a lot on tour",
                key="emil",
            ),
            f("That must make for some quiet weeks at home."),
            u("very quiet. just me and Mulle"),
            f("Who's Mulle?"),
            u(
                "my rabbit! a grey lop-eared rabbit who thinks he's a dog. he follows me around the flat",
                key="mulle",
            ),
            f("That's adorable. Do you live in the city centre?"),
            u("in Majorna, an old wooden house flat. drafty but charming"),
            f("Sounds cosy in its way. Anyone else you're close to there?"),
            u(
                "my best friend Ingrid moved to Malmö last year, I miss her a lot. we met at "
                "art school, we've been friends for twelve years",
                key="ingrid",
            ),
            f("Twelve years is a long friendship. Do you visit often?"),
            u("every couple of months, the train is only three hours"),
            f("That's not bad. Good luck with the moths today!"),
        ),
        s(
            "2024-03-03T22:50:00",
            u("bad week"),
            f("I'm sorry, Sofia. Do you want to talk about it?"),
            u(
                "Emil and I broke up on Tuesday. it's been coming for a while I think but it still hurts",
                key="breakup",
            ),
            f("I'm really sorry. Four years is a lot. How are you holding up?"),
            u("badly? I cry at random times. like in the supermarket at the oat milk"),
            f("That's completely normal. Are you still in the flat?"),
            u(
                "no, he's keeping the flat, it was his lease first. I'm sleeping on my friend "
                "Nora's sofa in Linné for now, with Mulle in a box next to me",
                key="nora",
            ),
            f("That sounds hard. Is Nora a good person to lean on right now?"),
            u("the best. she made me pasta and let me watch bad reality tv"),
            f("Good. Has anything gone okay this week?"),
            u(
                "the publisher was very sweet, they moved my deadline to May 1st when I told "
                "them. so at least that's two more weeks",
                key="deadline2",
            ),
            f("That's a real relief. How are the illustrations going?"),
            u("slowly. I'm at page 14. the moth is sadder now lol"),
            f("Art imitates life. Are you still climbing?"),
            u(
                "yes, it's the only thing keeping me sane. I sent my first 6b problem on "
                "Thursday at Klätterverket!",
                key="grade",
            ),
            f("Congratulations! That's a great milestone on a hard week."),
            u("I screamed a bit. people clapped. it was nice"),
            f("That sounds like exactly what you needed."),
            u("yeah. I think I need to figure out where to live"),
            f("Any thoughts so far?"),
            u("Gothenburg rent is crazy. I'm honestly thinking about leaving"),
            f("That's a big decision. Take your time with it."),
            u("I will. thanks for listening"),
            f("Anytime. Go easy on yourself."),
        ),
        s(
            "2024-03-24T09:15:00",
            u("morning! I made a decision"),
            f("Good morning! What did you decide?"),
            u(
                "I'm moving to Malmö! Ingrid's flatmate is moving to Copenhagen, so I'm taking "
                "the room. moving on April 20th",
                key="malmo_plan",
            ),
            f("That's exciting! Living with your best friend again."),
            u("I know! we lived together at art school and it was the best time of my life"),
            f("That's a good sign. Is Mulle going with you?"),
            u("of course, Ingrid already bought him a little hay rack"),
            f("Ha, Ingrid's a keeper. How do you feel about leaving Gothenburg?"),
            u("sad about Nora and the climbing gym. but excited to start fresh"),
            f("Are there good climbing gyms in Malmö?"),
            u("Ingrid says there's a great bouldering place near her. I'll find out"),
            f("How's the book going?"),
            u("page 22! the breakup gave me weird energy"),
            f("Channel it. Any other news?"),
            u(
                "my little sister Elsa is getting married on June 8th in Uppsala! I'm the maid "
                "of honor so I have to give a speech",
                key="elsa",
            ),
            f("Congratulations to Elsa! Are you nervous about the speech?"),
            u("terrified. I'd rather draw a 100 page book"),
            f("Maybe you could draw something for her too."),
            u("ooh maybe! I could make a portrait of them as a wedding gift", key="gift_idea"),
            f("That would be a lovely personal gift."),
            u("I'm writing that down. ok, boxes to pack"),
            f("Good luck with the packing!"),
        ),
        s(
            "2024-04-28T16:20:00",
            u("hello from Malmö 🌞"),
            f("Hej! How's the new city?"),
            u(
                "I love it. moved into Ingrid's flat in Möllevången on the 20th, there's a "
                "market on the square below our window every morning",
                key="malmo",
            ),
            f("That sounds lively. How's living with Ingrid again?"),
            u("like no time has passed. we eat dinner on the balcony and gossip"),
            f("That's lovely. How is Mulle adjusting?"),
            u("he has a bigger room now, he's thrilled"),
            f("Did you find a climbing gym?"),
            u(
                "yes! Bulder Syd, it's 10 min by bike. the setting is totally different from "
                "Klätterverket, much more about balance",
                key="bulder",
            ),
            f("A new style to learn. Have you met anyone there?"),
            u("a few people. there's a nice group that climbs on Tuesday evenings"),
            f("That's great. How's the book?"),
            u("final pages! I think I'll make the May 1st deadline"),
            f("Almost there! Any other work?"),
            u(
                "I got a new client, a coffee roastery here called Kaffe Kompaniet. they want "
                "illustrated packaging for four blends",
                key="coffee",
            ),
            f("That sounds like a fun project. What's the style?"),
            u("retro travel posters. each blend gets a different landscape"),
            f("That sounds beautiful. Have you heard from Emil?"),
            u(
                "he texted on Wednesday asking for the record player back. it was his grandma's"
                " so fair enough, I'm posting it",
                key="record",
            ),
            f("That's a decent thing to do. How did it feel to hear from him?"),
            u("weird, but less bad than I expected"),
            f("That sounds like progress."),
        ),
        s(
            "2024-05-19T11:00:00",
            u("hi! sunny sunday"),
            f("Hi Sofia! How did the deadline go?"),
            u(
                "I delivered the book on April 30th, a whole day early! first time in my life",
                key="delivered",
            ),
            f("Congratulations! That's a big achievement, especially given everything."),
            u("thank you! and Lilla Ugglan already asked if I want to do a second moth book"),
            f("A series! That's a great sign."),
            u("I said yes obviously. the moth has a sister now"),
            f("Ha, family drama. Anything else new?"),
            u(
                "ok so. I'm kind of seeing someone. Jonas. we met at the gym, he's part of the Tuesday group",
                key="jonas",
            ),
            f("Oh, exciting! What's he like?"),
            u("a nurse, very calm, terrible at slab problems. we've been on four dates"),
            f("Sounds like a good start. How are you feeling about it?"),
            u("happy but careful. it's only been a couple of months since Emil"),
            f("That's a healthy way to look at it."),
            u("Ingrid approves, which helps"),
            f("Always important. How's the wedding prep?"),
            u(
                "I finished the portrait of Elsa and her fiancé! watercolour, them as two moths",
                key="portrait",
            ),
            f("That's perfect. Have you written the speech?"),
            u("half. I have to cut the embarrassing stories down to three"),
            f("Three is a good number."),
            u("ha. the coffee packaging is almost done too"),
            f("You've been busy. Enjoy the sunshine!"),
        ),
        s(
            "2024-06-10T20:40:00",
            u("I'm back from Uppsala"),
            f("Welcome back! How was the wedding?"),
            u(
                "perfect. the wedding was on Saturday in a little church outside Uppsala, then "
                "a dinner in a barn. Elsa looked so happy",
                key="wedding",
            ),
            f("That sounds beautiful. How did the speech go?"),
            u("people laughed at the right places and Elsa cried. success"),
            f("Wonderful. Did they like the portrait?"),
            u(
                "they loved it, Elsa wants to hang the moth portrait in their living room. my "
                "dad asked me to make one of him and my mom",
                key="gift",
            ),
            f("That's a lovely reaction. Did you bring a date?"),
            u(
                "Jonas came with me! he danced with my grandma for like an hour, she's in love with him",
                key="jonas_wedding",
            ),
            f("That's a great sign. How was it meeting your family?"),
            u("my mom interrogated him at dinner but he survived"),
            f("Ha, a rite of passage. Anything else new?"),
            u(
                "yes! I got a second rabbit, Pärla, a little white one, so Mulle has a friend. "
                "they're bonding slowly",
                key="parla",
            ),
            f("How sweet. Are they getting along?"),
            u("they groomed each other yesterday, which is a big deal in rabbit language"),
            f("That's great progress."),
            u("I'm so tired though. I'm taking tomorrow off"),
            f("You've earned it."),
        ),
    ),
)

SOFIA_QUESTIONS = (
    q(
        "c7",
        "single-hop",
        "2024-06-12T10:00:00",
        ("book",),
        "What is the title of the picture book Sofia illustrated?",
    ),
    q("c7", "single-hop", "2024-06-12T10:00:00", ("emil",), "What did Sofia's ex-boyfriend do for work?"),
    q("c7", "single-hop", "2024-06-12T10:00:00", ("mulle",), "What kind of animal is Mulle?"),
    q(
        "c7",
        "single-hop",
        "2024-06-12T10:00:00",
        ("grade",),
        "What climbing milestone did Sofia hit back in Gothenburg?",
    ),
    q(
        "c7",
        "single-hop",
        "2024-06-12T10:00:00",
        ("coffee",),
        "Which Malmö business hired me to design packaging?",
    ),
    q(
        "c7",
        "single-hop",
        "2024-06-12T10:00:00",
        ("gift", "portrait", "gift_idea"),
        "What wedding present did Sofia make for her sister?",
    ),
    q(
        "c7",
        "update",
        "2024-06-12T10:00:00",
        ("malmo",),
        "Which city and neighbourhood does Sofia live in now?",
    ),
    q("c7", "update", "2024-06-12T10:00:00", ("jonas", "jonas_wedding"), "Who is Sofia's current partner?"),
    q("c7", "update", "2024-06-12T10:00:00", ("parla",), "How many rabbits do I have now?"),
    q("c7", "temporal", "2024-06-12T10:00:00", ("breakup",), "When did Sofia and Emil split up?"),
    q(
        "c7",
        "temporal",
        "2024-06-12T10:00:00",
        ("delivered",),
        "On what date did Sofia hand in the moth book?",
    ),
    q("c7", "temporal", "2024-06-12T10:00:00", ("wedding",), "What did I do last Saturday?"),
    q("c7", "temporal", "2024-06-12T10:00:00", ("nora",), "Where was Sofia sleeping in early March?"),
    q(
        "c7",
        "multi-hop",
        "2024-06-12T10:00:00",
        ("ingrid", "malmo_plan"),
        "Whose flat did Sofia move into, and how long have they been friends?",
    ),
    q("c7", "multi-hop", "2024-06-12T10:00:00", ("jonas", "bulder"), "At which gym did Sofia meet Jonas?"),
    q("c7", "adversarial", "2024-06-12T10:00:00", ("record",), "What did Sofia's ex want returned?"),
)


# Jake Turner: Ohio trucker turned dispatcher; blood pressure, son learning to drive, fishing, dog.
JAKE = Conversation(
    id="c8",
    user="Jake",
    sessions=(
        s(
            "2023-01-15T05:40:00",
            u("can't sleep. truck stop in Amarillo, wind is rocking the cab like a boat", key="amarillo"),
            f("Morning, Jake. That sounds like a rough night. Where are you headed?"),
            u(
                "hauling a reefer load of lettuce from Salinas to Columbus. frozen and fresh "
                "stuff mostly, I've pulled refrigerated trailers for Buckeye Freight for 11 "
                "years",
                key="reefer",
            ),
            f("Eleven years on the road, that's a lot of miles. How long until you're home?"),
            u("two more days if the weather holds. ice on I-40 through Oklahoma they say"),
            f("Be careful out there. Who's waiting for you at home?"),
            u("my wife Dana and our boy Tyler, he's 15. and the dog", key="family"),
            f("What kind of dog?"),
            u("Ranger, a beagle mix we got from the pound. loudest animal in Muskingum County", key="ranger"),
            f("Ha, beagles do like to sing. How's Tyler doing?"),
            u(
                "good kid. plays JV basketball, grades are okay. wants to learn to drive this "
                "spring which terrifies me"
            ),
            f("Ha, from a professional driver that's saying something."),
            u(
                "lol. the other news is not great. had my DOT physical last week and my blood "
                "pressure was 150 over 95. doc put me on lisinopril and I got a one year card "
                "instead of two",
                key="bp_high",
            ),
            f("That's a wake-up call. How are you feeling about it?"),
            u("annoyed mostly. truck stop food and energy drinks, I know what did it"),
            f("Small changes add up. Is there anything you've thought about changing?"),
            u(
                "Dana's on me about it. she works at the bank in Zanesville, she brings me "
                "salads in a cooler now when I leave",
                key="dana_job",
            ),
            f("That's sweet of her. Do you get any time for yourself when you're home?"),
            u("fishing. Dillon Lake mostly, crappie and bass. I'd fish every day if I could", key="fishing"),
            f("Sounds like a good way to unwind. Try to get some sleep."),
            u("gonna try. thanks for the company"),
        ),
        s(
            "2023-02-05T21:00:00",
            u("home for the weekend finally"),
            f("Welcome home, Jake! How's it feel?"),
            u("good. slept 11 hours in a real bed"),
            f("Well deserved. Anything fun this weekend?"),
            u(
                "Tyler's JV game on Friday, they won by 2. he hit a three at the buzzer in the "
                "second quarter",
                key="game",
            ),
            f("That's great! Were you able to be there?"),
            u("yeah, first game I made all season. that's kind of the problem"),
            f("What do you mean?"),
            u(
                "I miss everything. Buckeye posted an opening for a dispatcher at the "
                "Zanesville terminal. I'd be home every night",
                key="dispatch_idea",
            ),
            f("That sounds like it could be a big change for the better. Are you thinking of applying?"),
            u("thinking. it pays less. Dana says we'll manage"),
            f("Is the pay difference big?"),
            u("about 12 grand a year less. but no more sleeping in Amarillo"),
            f("That's something to weigh. What else happened this week?"),
            u(
                "Ranger ate a sock. a whole sock. Dana took him to the vet on Wednesday and "
                "they had to make him throw it up",
                key="sock",
            ),
            f("Oh no! Is he okay?"),
            u("totally fine, proud of himself even. $180 for that sock"),
            f("Expensive sock. How's the blood pressure?"),
            u("taking the pills. I switched from Monster to black coffee, it's a start"),
            f("That's a real change. Good for you."),
            u("we'll see. I go back out Monday, Dallas run"),
            f("Safe travels on Monday."),
        ),
        s(
            "2023-03-01T19:20:00",
            u("quick one from a rest area in Indiana"),
            f("Hi Jake! How's the road?"),
            u(
                "fine. I applied for the dispatcher job. had the interview yesterday over the "
                "phone with Carla, she's the ops manager at Zanesville",
                key="applied",
            ),
            f("How did it go?"),
            u("good I think. she said drivers make the best dispatchers because we know what it's like"),
            f("That makes a lot of sense. When will you hear back?"),
            u("couple weeks"),
            f("Fingers crossed. How's your health?"),
            u("went back to the doc, BP was 138 over 88. better. still not where he wants it", key="bp_mid"),
            f("That's real progress in six weeks. How are you doing it?"),
            u("the coffee thing, walking around the truck stops, Dana's salads. lost 9 pounds"),
            f("That's great. How's Tyler?"),
            u(
                "he passed his learner's permit test on Monday! 15 and a half, legal to drive "
                "with me or Dana in the car",
                key="permit",
            ),
            f("Big milestone! Have you taken him out yet?"),
            u(
                "not yet. Dana took him around the church parking lot. she says he brakes like "
                "he's being chased"
            ),
            f("Ha, better too much brake than too little."),
            u("true. ok my 30 min break is up"),
            f("Drive safe!"),
        ),
        s(
            "2023-03-26T12:10:00",
            u("well it's official"),
            f("The dispatcher job?"),
            u("yep. I'm a dispatcher starting April 10th. Carla called Thursday", key="got_job"),
            f("Congratulations, Jake! How do you feel?"),
            u("weird. happy. a little sad. this is my last long haul week"),
            f("Where's the last run?"),
            u(
                "down to Laredo with auto parts and back with produce. feels right to end on a long one",
                key="laredo",
            ),
            f("That's a fitting last trip. What will you miss?"),
            u("sunrises in New Mexico. the quiet. not the truck stop showers"),
            f("Fair. Are you celebrating?"),
            u(
                "kind of. I bought a boat lol. used 16 foot Tracker bass boat, $6,500, from a "
                "guy in New Lexington",
                key="boat",
            ),
            f("A boat! Now that you'll be home, that makes sense."),
            u("Dana rolled her eyes but she knew it was coming"),
            f("Ha. Is it in good shape?"),
            u("motor needs a tune-up. I'll have it on Dillon Lake by May"),
            f("Sounds like a plan. Anything else going on?"),
            u(
                "Dana's mom is in the hospital with pneumonia, she's 81. Dana's been there every evening",
                key="mil",
            ),
            f("I'm sorry. How is she doing?"),
            u("better, they think she'll go home next week"),
            f("I'm glad to hear it. Good luck on the last run."),
        ),
        s(
            "2023-04-30T16:45:00",
            u("three weeks at a desk. man"),
            f("How's the new job going, Jake?"),
            u(
                "honestly? I like it more than I thought. I've got 22 drivers on my board, and "
                "I know half of them from the road",
                key="dispatch_now",
            ),
            f("That must make it easier. Do you miss driving?"),
            u("the first week I felt like a caged animal. now it's okay. I'm home for dinner every night"),
            f("That's a big change. How's the family liking it?"),
            u("Dana says I'm underfoot. Ranger is thrilled"),
            f("Ha. Have you had the boat out?"),
            u(
                "last Saturday! Dillon Lake, caught a 5 pound largemouth off a submerged log. "
                "biggest fish of my life",
                key="bass",
            ),
            f("That's a great catch! Did you keep it?"),
            u("released it. got a picture though. it's my phone background now"),
            f("A fine background. How's Tyler's driving?"),
            u(
                "ha. he backed into the Hendersons' mailbox on Tuesday. I had to go apologize "
                "and fix the post",
                key="mailbox",
            ),
            f("Oh no, a classic. Is he okay?"),
            u("embarrassed. he's getting better though"),
            f("Everyone has a mailbox story. How's your health?"),
            u("BP was 128 over 82 on Thursday! doc said keep doing what I'm doing", key="bp_low"),
            f("That's excellent, Jake! A huge improvement."),
            u("being home helps. I cook now. sort of"),
            f("What do you cook?"),
            u("chili. many variations of chili"),
        ),
        s(
            "2023-05-29T10:00:00",
            u("happy memorial day"),
            f("Happy Memorial Day, Jake! Any plans?"),
            u("cookout at my brother Wade's this afternoon. I'm bringing the chili obviously"),
            f("Obviously. How's Wade?"),
            u(
                "good. we took my boat up to Lake Erie last weekend for walleye, first time "
                "Wade has been out on it. we limited out both days",
                key="wade",
            ),
            f("That sounds like a great trip. Where did you stay?"),
            u("a motel in Port Clinton. Wade snores like a diesel"),
            f("Ha. How's everyone at home?"),
            u(
                "Dana got promoted! she's the branch manager now at the bank. she started this week",
                key="dana_promo",
            ),
            f("Congratulations to Dana! That's great news."),
            u("yeah, she worked hard for it. she'll make more than me now lol"),
            f("Sounds like a good thing for the family."),
            u(
                "it is. Ranger got stung by a bee yesterday, his whole lip swelled up. vet said"
                " Benadryl, he's fine now",
                key="bee",
            ),
            f("Poor Ranger! Glad he's okay."),
            u("he looked like a duck. Tyler took pictures"),
            f("Ha, of course he did. How is work?"),
            u("busy, summer produce season. Carla says I'm doing good"),
            f("That's great to hear. Enjoy the cookout!"),
            u("thanks. I'll bring you some chili in spirit"),
            f("I'll take it!"),
        ),
    ),
)

JAKE_QUESTIONS = (
    q("c8", "single-hop", "2023-06-01T10:00:00", ("reefer",), "What kind of trailer did Jake haul?"),
    q("c8", "single-hop", "2023-06-01T10:00:00", ("ranger",), "What breed is Jake's dog?"),
    q("c8", "single-hop", "2023-06-01T10:00:00", ("sock",), "What did my dog swallow?"),
    q("c8", "single-hop", "2023-06-01T10:00:00", ("applied",), "Who interviewed Jake for the new position?"),
    q("c8", "single-hop", "2023-06-01T10:00:00", ("boat",), "How much did Jake pay for his boat?"),
    q(
        "c8",
        "single-hop",
        "2023-06-01T10:00:00",
        ("laredo",),
        "Where did Jake go on his final long-distance run?",
    ),
    q("c8", "update", "2023-06-01T10:00:00", ("got_job", "dispatch_now"), "What do I do for work now?"),
    q(
        "c8",
        "update",
        "2023-06-01T10:00:00",
        ("bp_low",),
        "What was Jake's most recent blood pressure reading?",
    ),
    q("c8", "update", "2023-06-01T10:00:00", ("dana_promo",), "What is Dana's position at the bank now?"),
    q("c8", "temporal", "2023-06-01T10:00:00", ("amarillo",), "Where was I on January 15th?"),
    q("c8", "temporal", "2023-06-01T10:00:00", ("got_job",), "When did Jake start his dispatcher job?"),
    q("c8", "temporal", "2023-06-01T10:00:00", ("bass",), "What did Jake catch in late April?"),
    q("c8", "temporal", "2023-06-01T10:00:00", ("bee",), "What did I tell you three days ago about Ranger?"),
    q(
        "c8",
        "multi-hop",
        "2023-06-01T10:00:00",
        ("boat", "wade"),
        "Who went fishing with Jake in the boat he bought in March, and where?",
    ),
    q(
        "c8",
        "multi-hop",
        "2023-06-01T10:00:00",
        ("bp_high", "bp_low"),
        "How much has Jake's blood pressure improved since his DOT physical?",
    ),
    q(
        "c8",
        "adversarial",
        "2023-06-01T10:00:00",
        ("mailbox",),
        "What did Jake's son damage during practice behind the wheel?",
    ),
)


# Aiko Tanaka: UX designer in Toronto planning a wedding; venue and date changes, Korean, sourdough.
AIKO = Conversation(
    id="c9",
    user="Aiko",
    sessions=(
        s(
            "2024-06-02T19:00:00",
            u("ok I need to talk to someone who isn't Mark about wedding stuff"),
            f("Ha, happy to help, Aiko. Where are you at with the planning?"),
            u('nowhere?? we got engaged in April and everyone keeps asking "have you picked a date"'),
            f("That's a lot of pressure. Do you have a rough idea?"),
            u("September next year. fall colours, not too hot"),
            f("Nice choice. Have you looked at venues yet?"),
            u(
                "two. Evergreen Brick Works in the city, and a winery in Niagara called Twenty "
                "Valley Estate. I'm leaning Brick Works because everyone can take the subway",
                key="venues",
            ),
            f("Both sound lovely. What does Mark think?"),
            u("Mark likes the winery. he's a wine nerd. we'll see"),
            f("What's the guest count?"),
            u("like 140. Mark's family alone is 70 people"),
            f("That's a big family. Are they local?"),
            u(
                "mostly, his parents are in North York, but a lot of his relatives only speak "
                "Korean, so I'm learning Korean so I can actually talk to his grandma",
                key="korean",
            ),
            f("That's a really thoughtful thing to do. How's it going?"),
            u('I know how to say "I\'m sorry" and "I\'m full" so... the essentials'),
            f("Ha, very useful at family dinners. How's work?"),
            u(
                "busy. I'm a UX designer at Maple Trust, we're redesigning the whole mobile "
                "banking app. lots of meetings about button colours",
                key="maple",
            ),
            f("That sounds like a big project. Are you enjoying it?"),
            u("the research part yes, the politics no"),
            f("Understandable. Anything you do to relax?"),
            u(
                "baking! I have a sourdough starter named Bready Mercury. he's two weeks old "
                "and smells like feet",
                key="starter",
            ),
            f("Ha, that's a great name. Has he made bread yet?"),
            u("not yet, he's not strong enough. I feed him twice a day like a baby"),
            f("Practice for the future, maybe."),
            u("LOL don't tell Mark's mom you said that"),
            f("My lips are sealed."),
        ),
        s(
            "2024-06-23T08:30:00",
            u("good morning! I have so much news"),
            f("Good morning! Tell me."),
            u(
                "we booked the venue! it's Twenty Valley Estate, the winery. Brick Works quoted"
                " us 38k before food, so Mark won",
                key="venue_booked",
            ),
            f("Congratulations! That's a big decision made. Did you pick a date?"),
            u("September 20th, 2025. on the terrace overlooking the vineyard", key="date1"),
            f("That sounds beautiful. How will the city guests get there?"),
            u(
                "we'll rent a couple of buses. Mark's uncle already volunteered to \"DJ\" on the "
                "bus which is frightening"
            ),
            f("Ha, that'll be memorable. Have you asked anyone to be in the wedding party?"),
            u(
                "yes, my best friend Hana is my maid of honour. she screamed on the phone for a full minute",
                key="hana",
            ),
            f("That's the right reaction. How did you meet Hana?"),
            u("in design school at OCAD, we were the only two people who liked typography"),
            f("A friendship built on fonts. How's the Korean?"),
            u(
                "I started a real class! Tuesday nights at the Korean Cultural Centre, level 1."
                " my teacher is very strict about pronunciation",
                key="korean_class",
            ),
            f("That's great structure. Is it helping?"),
            u("I can read Hangul now, slowly. the grammar is a different story"),
            f("Reading is a big first step. How is Bready Mercury?"),
            u("he made bread!!! first real loaf on Friday, open crumb, I nearly cried", key="bread"),
            f("Congratulations to both of you! Did Mark like it?"),
            u("he ate half of it in one sitting so yes"),
            f("That's the highest praise."),
            u("ok going to go buy more flour"),
            f("Enjoy your Sunday, Aiko!"),
        ),
        s(
            "2024-07-21T15:00:00",
            u("dress shopping is a nightmare"),
            f("Oh no. What happened?"),
            u(
                "went to a bridal shop on Queen West yesterday with my mom and Hana. tried on "
                "11 dresses. hated all of them",
                key="dress1",
            ),
            f("That's a lot of dresses. What didn't you like?"),
            u(
                'too much tulle. I looked like a cake. my mom kept saying "this is the one" '
                "about every single dress"
            ),
            f("Ha, moms do that. Are you going to try another shop?"),
            u("Hana booked another one in August, we'll see"),
            f("Good. How was everything else this week?"),
            u(
                "we had dinner with Mark's parents last Sunday and I spoke Korean the whole "
                "first course! his mom cried a little",
                key="parents_dinner",
            ),
            f("That's wonderful, Aiko! How did it feel?"),
            u('amazing and terrifying. I mixed up "delicious" and "dangerous" once. everyone laughed'),
            f("A very forgivable mistake. How's work?"),
            u(
                "actually... a startup called Loop Health reached out. they want me as a senior"
                " product designer, working on a fertility tracking app",
                key="offer",
            ),
            f("That's exciting! Are you considering it?"),
            u("really considering. it's more money and I'd lead design. but it's a startup"),
            f("What's holding you back?"),
            u("security I guess. Maple Trust is boring but stable"),
            f("That's a fair thing to weigh. When do you need to decide?"),
            u("they want an answer by mid August"),
            f("Plenty of time to think. Any vacation plans?"),
            u("yes! Mark and I are going to Tofino for a week in August, surfing lessons", key="tofino_plan"),
            f("That sounds amazing. Have you surfed before?"),
            u("never. I'll mostly be falling"),
            f("Falling is half of surfing, I hear."),
        ),
        s(
            "2024-08-18T21:45:00",
            u("back from the west coast and I made some decisions"),
            f("Welcome back! How was the trip?"),
            u(
                "incredible. we were in Tofino August 3rd to 10th, I stood up on a surfboard "
                "twice, Mark zero times, and we saw a black bear on the road",
                key="tofino",
            ),
            f("Ha, you win. What decisions did you make?"),
            u("I took the Loop Health job!! senior product designer. I start September 9th", key="loop"),
            f("Congratulations, Aiko! How did Maple Trust take it?"),
            u("my manager was nice about it. I think she saw it coming"),
            f("That's good. Any other news?"),
            u(
                "I FOUND THE DRESS. at Atelier Rose in Yorkville. simple silk, long sleeves, no"
                " tulle. Hana cried, my mom cried, I cried",
                key="dress2",
            ),
            f("That's wonderful! It sounds elegant."),
            u("it's perfect. it also cost more than my first car"),
            f("Ha, worth it. How's Bready Mercury?"),
            u(
                "RIP. he died while we were in Tofino. Mark's brother was supposed to feed him "
                "and forgot. I started a new one, Bready Mercury II",
                key="starter_died",
            ),
            f("Oh no. At least there's a sequel."),
            u("the sequel is already more active honestly"),
            f("Good to hear. Any wedding planning since you got back?"),
            u("caterer tasting next week. Korean-Japanese fusion is the plan"),
            f("That sounds delicious and very meaningful."),
            u("our two families in one menu. I'm excited"),
            f("Good luck with the tasting!"),
        ),
        s(
            "2024-09-22T11:20:00",
            u("hi!! two weeks into the new job"),
            f("Hi Aiko! How's the new job?"),
            u(
                "chaotic and fun. small team, everyone does everything. I redesigned onboarding"
                " in my first week"
            ),
            f("That's fast. Do you like the team?"),
            u("so much. the CEO is a former nurse, very mission driven"),
            f("That sounds inspiring. Any wedding news?"),
            u(
                "ugh yes. the winery called, they double booked September 20th, so they moved "
                "us to September 27th 2025 and gave us a discount",
                key="date2",
            ),
            f("That's annoying, but a discount helps. Does the new date work for everyone?"),
            u("Hana checked, the grandparents checked, we're good"),
            f("That's a relief. How's the Korean going?"),
            u("I'm in level 2 now! we're learning honorifics which is basically a new language"),
            f("That's a big step. Anything else new?"),
            u(
                "WE GOT A KITTEN. Mochi. grey, tiny, bites everything. adopted her from the "
                "Toronto Humane Society last Saturday",
                key="mochi",
            ),
            f("Congratulations! How is she settling in?"),
            u("she sleeps on Mark's neck and attacks my feet"),
            f("Sounds like she's picked her favourite."),
            u("traitor. she's already met Bready Mercury II, she sniffed the jar and ran"),
            f("Smart kitten."),
            u("lol ok going to go bake"),
            f("Enjoy!"),
        ),
        s(
            "2024-10-20T18:10:00",
            u("hey!"),
            f("Hey Aiko! How's your weekend?"),
            u(
                "good. we did our engagement photos on Saturday the 12th at Scarborough Bluffs,"
                " the light was insane",
                key="photos",
            ),
            f("That sounds stunning. How did they turn out?"),
            u("the photographer sent previews and I love them. Mark actually smiled with his eyes"),
            f("That's rare for some people. How's Mochi?"),
            u("she had her vaccines this week, she was very offended"),
            f("Poor thing. Any wedding news?"),
            u("we sent save-the-dates! in English, Japanese and Korean. Hana did the lettering"),
            f("That's a beautiful touch. Anything else?"),
            u(
                "big one. Mark's grandmother is flying in from Busan in November to stay for a "
                "month. I'll finally get to talk to her in Korean in person",
                key="grandma",
            ),
            f("That's so exciting. Are you nervous?"),
            u("extremely. I'm studying every night. my teacher gave me extra practice on polite speech"),
            f("You'll do great. She'll love that you're trying."),
            u("I hope so. I'm going to make her a sourdough loaf too"),
            f("A perfect gift. How's work?"),
            u("good! we launched the onboarding redesign. signups went up 20%"),
            f("That's a great result."),
            u("I'm so happy I switched. ok, dinner time"),
            f("Enjoy your evening!"),
        ),
    ),
)

AIKO_QUESTIONS = (
    q(
        "c9",
        "single-hop",
        "2024-10-23T10:00:00",
        ("starter",),
        "What did Aiko call her first sourdough starter?",
    ),
    q("c9", "single-hop", "2024-10-23T10:00:00", ("korean",), "Why did Aiko start learning Korean?"),
    q("c9", "single-hop", "2024-10-23T10:00:00", ("hana",), "Who will stand next to Aiko as maid of honour?"),
    q("c9", "single-hop", "2024-10-23T10:00:00", ("dress2",), "Where did I finally find my wedding dress?"),
    q(
        "c9",
        "single-hop",
        "2024-10-23T10:00:00",
        ("tofino", "tofino_plan"),
        "Where did Aiko and Mark go on their summer vacation?",
    ),
    q("c9", "single-hop", "2024-10-23T10:00:00", ("mochi",), "What kind of pet did Aiko adopt?"),
    q("c9", "update", "2024-10-23T10:00:00", ("loop",), "Which company does Aiko work for now?"),
    q("c9", "update", "2024-10-23T10:00:00", ("venue_booked",), "Where is Aiko's wedding going to be held?"),
    q("c9", "update", "2024-10-23T10:00:00", ("date2",), "What is the date of our wedding?"),
    q(
        "c9",
        "temporal",
        "2024-10-23T10:00:00",
        ("photos",),
        "When did Aiko and Mark have their engagement photos taken?",
    ),
    q(
        "c9",
        "temporal",
        "2024-10-23T10:00:00",
        ("parents_dinner",),
        "What happened at dinner with Mark's parents in July?",
    ),
    q(
        "c9",
        "temporal",
        "2024-10-23T10:00:00",
        ("starter_died",),
        "What happened to my sourdough starter in August?",
    ),
    q("c9", "temporal", "2024-10-23T10:00:00", ("loop",), "When did Aiko start her new job?"),
    q(
        "c9",
        "multi-hop",
        "2024-10-23T10:00:00",
        ("dress1", "dress2"),
        "Who went dress shopping with Aiko the first time, and where did she end up finding her dress?",
    ),
    q(
        "c9",
        "multi-hop",
        "2024-10-23T10:00:00",
        ("maple", "loop"),
        "What was Aiko redesigning at the job she left for the startup?",
    ),
    q(
        "c9",
        "adversarial",
        "2024-10-23T10:00:00",
        ("grandma",),
        "Which relative is coming over from Korea this autumn?",
    ),
)


# Liam O'Shea: final-year CS student in Dublin; bar job, band, nan in Galway, moving flat, graduate job.
LIAM = Conversation(
    id="c10",
    user="Liam",
    sessions=(
        s(
            "2023-10-15T01:30:00",
            u("just finished a shift, my ears are ringing"),
            f("Hey Liam! Busy night?"),
            u(
                "Saturday at Doyle's on Camden Street, it's carnage. I've been pulling pints "
                "there since first year",
                key="doyles",
            ),
            f("That must pay the rent at least. Are you still in college?"),
            u(
                "yeah final year computer science at Trinity. I'm doing this on top of it which"
                " is probably stupid",
                key="college",
            ),
            f("That's a lot to juggle. What's your final year project?"),
            u(
                "an app that predicts Dublin Bus delays from live GPS data and the weather. "
                "because the 16 has ruined my life",
                key="project",
            ),
            f("A project born from personal suffering. Who's supervising it?"),
            u("Dr. Byrne, she's brilliant but terrifying. she reads every line of code", key="byrne"),
            f("That's probably good for the grade. Anything else going on?"),
            u(
                "the band! I play drums in a band called The Wet Mondays. indie rock-ish, four of us",
                key="drums",
            ),
            f("Great name. Who else is in it?"),
            u("Aoife on bass, she's the actual talent, plus Daire on guitar and Seán singing", key="aoife"),
            f("Do you play gigs?"),
            u(
                "our first proper gig is November 4th at The Lantern, it's a small venue off "
                "Dame Street. we're terrified",
                key="gig_plan",
            ),
            f("That's exciting. How long have you been practising?"),
            u("since the summer, in Daire's garage in Drumcondra. his neighbours hate us"),
            f("Ha, the true sign of a band. Where do you live?"),
            u(
                "a flat in Rathmines with three other lads. it's grand, the kitchen is a biohazard",
                key="rathmines",
            ),
            f("Sounds like student living. Any family in Dublin?"),
            u(
                "my parents are in Cork, and my nan is in Galway, I'm closest with her "
                "honestly. she rings me every Sunday",
                key="nan",
            ),
            f("That's lovely. Get some sleep!"),
            u("will do. night"),
        ),
        s(
            "2023-11-05T14:00:00",
            u("we did it!!"),
            f("The gig? How did it go?"),
            u(
                "last night at The Lantern was unreal. like 80 people came, we played 9 songs, "
                "nobody threw anything",
                key="gig",
            ),
            f("That's a big turnout for a first gig! How did you feel?"),
            u("shaking for the first two songs and then it was the best night of my life"),
            f("That's amazing. Did anything go wrong?"),
            u("I dropped a stick in the middle of the last song. caught a spare, nobody noticed"),
            f("That's a pro move. Any other news?"),
            u(
                "yeah, not good. my nan had a fall on Wednesday and broke her wrist. she's in "
                "University Hospital Galway",
                key="fall",
            ),
            f("Oh no, I'm sorry. How is she?"),
            u(
                "in good spirits, complaining about the food. I got the train down Thursday to "
                "see her and came back for the gig"
            ),
            f("That's good of you. Will she be okay?"),
            u("they think so. she's 84 though so they want her to stay a week"),
            f("I hope she heals quickly. How's everything else?"),
            u(
                "my flatmate Cian is moving out in January, he got a job in London. so the flat"
                " is a bit up in the air",
                key="cian",
            ),
            f("Will you look for someone to replace him?"),
            u("maybe. or maybe I move. we'll see"),
            f("Keep your options open. How's college?"),
            u(
                'the bus app is going ok. Dr. Byrne said my data cleaning is "acceptable" which'
                " from her is basically a hug"
            ),
            f("Ha, high praise."),
            u("honestly yes"),
        ),
        s(
            "2023-12-03T23:10:00",
            u("can't sleep, exam stress"),
            f("Hi Liam. When are your exams?"),
            u(
                "they start on the 11th, four exams in eight days. distributed systems is the "
                "one I'm scared of",
                key="exams",
            ),
            f("That's an intense week. How are you studying?"),
            u("library all day, Doyle's some evenings. I've cut my shifts down to two a week till Christmas"),
            f("Smart. How's your nan?"),
            u("home now, wrist in a cast, she's fine. I'm going to Galway for Christmas to look after her"),
            f("That's lovely of you. Will your parents be there?"),
            u("yeah they're driving up from Cork. full house"),
            f("Sounds like a nice Christmas. How's the band?"),
            u(
                "we renamed it. The Wet Mondays was too close to an actual band in Manchester, "
                "so now we're Soft Launch",
                key="rename",
            ),
            f("I like it. Who picked it?"),
            u("Aoife. she said it sounds like a startup failing and that's our vibe"),
            f("Ha, fair enough. Anything else new?"),
            u(
                "I spent my gig money on a new snare drum. a secondhand Ludwig, it sounds amazing",
                key="snare",
            ),
            f("Nice! Are you playing more gigs?"),
            u("one in February hopefully. after exams. everything is after exams"),
            f("That's the right priority. Try to get some sleep."),
            u("will try. distributed systems in my dreams"),
            f("Good luck with it!"),
        ),
        s(
            "2024-01-14T12:00:00",
            u("new year new flat"),
            f("Hi Liam! You moved?"),
            u(
                "yeah, I moved to Phibsborough last week. Aoife needed a flatmate and the "
                "Rathmines lads were splitting up after Cian left anyway",
                key="phibsboro",
            ),
            f("That sounds like it worked out. How is it living with Aoife?"),
            u(
                "class. we practise in the living room with a practice pad. the neighbours "
                "haven't complained yet"
            ),
            f("Give it time. How were the exams?"),
            u("distributed systems went better than expected. results come out in February"),
            f("Fingers crossed. How was Christmas?"),
            u("lovely, nan was in great form, she made me drive her to mass twice"),
            f("Ha, sounds like her. Anything else new?"),
            u(
                "I quit Doyle's! I'm working at Spindle Records on Capel Street now, just a "
                "record shop, way chiller than pulling pints",
                key="spindle",
            ),
            f("That sounds like a good fit for a musician."),
            u("yeah and I get 20% off vinyl, which is dangerous"),
            f("Very dangerous. Is the pay okay?"),
            u("a bit less, but no 3am finishes"),
            f("Sounds like a fair trade. How's the bus project?"),
            u("I have to demo it in February. Dr. Byrne wants live predictions for the 16 and the 46A"),
            f("That'll be a good test. Have you been seeing anyone?"),
            u(
                "ha. kind of. I met a girl called Niamh at the shop, she came in looking for a "
                "Cranberries record. we've been out twice",
                key="niamh",
            ),
            f("That's a sweet way to meet. How's it going?"),
            u("good I think. she's doing a masters in history at UCD"),
            f("Sounds promising. Good luck with the new job!"),
        ),
        s(
            "2024-02-11T20:30:00",
            u("busy week"),
            f("Hi Liam! What's been happening?"),
            u(
                "the demo for the bus app was on Thursday. predicted the 46A within 2 minutes "
                'most of the time. Dr. Byrne said "well done", I nearly fainted',
                key="demo",
            ),
            f("That's huge! Congratulations."),
            u("and exam results came out. I got a first in distributed systems!"),
            f("That's fantastic, especially after all the worry."),
            u(
                "also... I got a graduate job offer. Tessellate, a fintech in Grand Canal Dock."
                " backend engineer, starting in September after I graduate",
                key="job",
            ),
            f("Liam, that's brilliant! How do you feel?"),
            u("weird. like an adult. I said yes"),
            f("Congratulations. Will you keep the band going?"),
            u(
                "definitely. Soft Launch recorded an EP last weekend at a studio in Temple Bar. four songs",
                key="ep",
            ),
            f("That's exciting! When does it come out?"),
            u("March, if Daire ever finishes mixing it"),
            f("Ha. How are things with Niamh?"),
            u("really good. we're going to a gig on Wednesday for Valentine's"),
            f("That sounds like a very you Valentine's date."),
            u("she picked it actually. she's into the same stuff"),
            f("That's a good sign. How's your nan?"),
            u("grand, she's proud of the job. she told the whole parish"),
            f("Of course she did."),
        ),
    ),
)

LIAM_QUESTIONS = (
    q("c10", "single-hop", "2024-02-14T10:00:00", ("drums",), "What instrument does Liam play in his band?"),
    q("c10", "single-hop", "2024-02-14T10:00:00", ("project",), "What is my final year project about?"),
    q("c10", "single-hop", "2024-02-14T10:00:00", ("byrne",), "Who supervises Liam's final year project?"),
    q("c10", "single-hop", "2024-02-14T10:00:00", ("gig",), "How big was the crowd at Liam's first gig?"),
    q("c10", "single-hop", "2024-02-14T10:00:00", ("snare",), "What did Liam spend his gig money on?"),
    q("c10", "single-hop", "2024-02-14T10:00:00", ("niamh",), "How did Liam meet Niamh?"),
    q("c10", "update", "2024-02-14T10:00:00", ("rename",), "What is Liam's band called now?"),
    q("c10", "update", "2024-02-14T10:00:00", ("phibsboro",), "Which part of Dublin do I live in now?"),
    q("c10", "update", "2024-02-14T10:00:00", ("spindle",), "Where is Liam working these days?"),
    q("c10", "temporal", "2024-02-14T10:00:00", ("fall",), "What happened to Liam's nan in early November?"),
    q("c10", "temporal", "2024-02-14T10:00:00", ("gig",), "What did I do on the night of November 4th?"),
    q(
        "c10",
        "temporal",
        "2024-02-14T10:00:00",
        ("exams",),
        "What was Liam stressed about in early December?",
    ),
    q("c10", "temporal", "2024-02-14T10:00:00", ("job",), "When does Liam start his graduate job?"),
    q(
        "c10",
        "multi-hop",
        "2024-02-14T10:00:00",
        ("phibsboro", "aoife"),
        "Who does Liam live with now, and what does she play in the band?",
    ),
    q(
        "c10",
        "multi-hop",
        "2024-02-14T10:00:00",
        ("doyles", "spindle"),
        "Which pub did Liam quit, and where does he work instead?",
    ),
    q(
        "c10",
        "adversarial",
        "2024-02-14T10:00:00",
        ("fall",),
        "What went wrong for Liam's elderly relative out west?",
    ),
)


CONVERSATIONS: tuple[Conversation, ...] = (MAYA, TOMASZ, PRIYA, DIEGO, HANNAH, KWAME, SOFIA, JAKE, AIKO, LIAM)
QUESTIONS: tuple[Question, ...] = (
    *MAYA_QUESTIONS,
    *TOMASZ_QUESTIONS,
    *PRIYA_QUESTIONS,
    *DIEGO_QUESTIONS,
    *HANNAH_QUESTIONS,
    *KWAME_QUESTIONS,
    *SOFIA_QUESTIONS,
    *JAKE_QUESTIONS,
    *AIKO_QUESTIONS,
    *LIAM_QUESTIONS,
)

# --- validation and output ---------------------------------------------------------------------------------


def _turn_id(session_index: int, line_index: int) -> str:
    return f"D{session_index + 1}:{line_index + 1}"


def _parse_time(value: str, where: str, errors: list[str]) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        errors.append(f"{where}: time {value!r} is not ISO 8601")
        return None


def _anchors(conversation: Conversation, errors: list[str]) -> dict[str, tuple[str, str]]:
    """Map each anchor key to (turn id, session time), reporting duplicated keys and turn ids."""
    anchors: dict[str, tuple[str, str]] = {}
    seen_ids: set[str] = set()
    for s_index, session in enumerate(conversation.sessions):
        for l_index, line in enumerate(session.lines):
            turn_id = _turn_id(s_index, l_index)
            if turn_id in seen_ids:
                errors.append(f"{conversation.id}: duplicate turn id {turn_id}")
            seen_ids.add(turn_id)
            if line.key and line.key in anchors:
                errors.append(f"{conversation.id}: anchor {line.key!r} used twice")
            if line.key:
                anchors[line.key] = (turn_id, session.time)
    return anchors


def _check_conversation(conversation: Conversation, errors: list[str]) -> None:
    if not conversation.user.strip() or conversation.user == PERSONA:
        errors.append(f"{conversation.id}: user name must be non-empty and differ from {PERSONA!r}")
    if not conversation.sessions:
        errors.append(f"{conversation.id}: no sessions")
    previous: datetime | None = None
    for s_index, session in enumerate(conversation.sessions):
        where = f"{conversation.id} session {s_index + 1}"
        when = _parse_time(session.time, where, errors)
        if when is not None and previous is not None and when <= previous:
            errors.append(f"{where}: time {session.time} is not after the previous session")
        previous = when or previous
        if not session.lines:
            errors.append(f"{where}: no turns")
        for l_index, line in enumerate(session.lines):
            if not line.text.strip():
                errors.append(f"{conversation.id} {_turn_id(s_index, l_index)}: empty text")


def _check_question(
    index: int, question: Question, anchors: dict[str, dict[str, tuple[str, str]]], errors: list[str]
) -> None:
    where = f"question {index + 1} ({question.text[:40]!r})"
    if question.category not in CATEGORIES:
        errors.append(f"{where}: category {question.category!r} not in {sorted(CATEGORIES)}")
    if not question.text.strip():
        errors.append(f"{where}: empty question")
    if not 1 <= len(question.evidence) <= MAX_EVIDENCE:
        errors.append(f"{where}: needs 1-{MAX_EVIDENCE} evidence turns, has {len(question.evidence)}")
    known = anchors.get(question.conversation)
    if known is None:
        errors.append(f"{where}: unknown conversation {question.conversation!r}")
        return
    asked = _parse_time(question.time, where, errors)
    for key in question.evidence:
        if key not in known:
            errors.append(f"{where}: evidence {key!r} is not an anchor in {question.conversation}")
            continue
        said = datetime.fromisoformat(known[key][1])
        if asked is not None and asked <= said:
            errors.append(f"{where}: asked at {question.time}, before its evidence {key!r} ({known[key][1]})")


def validate(conversations: tuple[Conversation, ...], questions: tuple[Question, ...]) -> list[str]:
    """Every problem found in the data, as readable messages (empty when the data is sound)."""
    errors: list[str] = []
    if len({c.id for c in conversations}) != len(conversations):
        errors.append("conversation ids are not unique")
    anchors: dict[str, dict[str, tuple[str, str]]] = {}
    for conversation in conversations:
        _check_conversation(conversation, errors)
        anchors[conversation.id] = _anchors(conversation, errors)
    for index, question in enumerate(questions):
        _check_question(index, question, anchors, errors)
    return errors


def _conversation_json(conversation: Conversation) -> dict[str, object]:
    sessions = [
        {
            "id": f"s{s_index + 1}",
            "time": session.time,
            "turns": [
                {
                    "id": _turn_id(s_index, l_index),
                    "speaker": conversation.user if line.from_user else PERSONA,
                    "text": line.text,
                }
                for l_index, line in enumerate(session.lines)
            ],
        }
        for s_index, session in enumerate(conversation.sessions)
    ]
    return {"id": conversation.id, "user": conversation.user, "sessions": sessions}


def _question_json(question: Question, turn_ids: dict[str, dict[str, str]]) -> dict[str, object]:
    ids = turn_ids[question.conversation]
    return {
        "conversation": question.conversation,
        "question": question.text,
        "time": question.time,
        "evidence": [ids[key] for key in question.evidence],
        "category": question.category,
    }


def build(conversations: tuple[Conversation, ...], questions: tuple[Question, ...]) -> dict[str, object]:
    """The dataset in the ``bench.retrieval`` format; call only on data that passed ``validate``."""
    turn_ids = {
        c.id: {
            line.key: _turn_id(s_index, l_index)
            for s_index, session in enumerate(c.sessions)
            for l_index, line in enumerate(session.lines)
            if line.key
        }
        for c in conversations
    }
    return {
        "conversations": [_conversation_json(c) for c in conversations],
        "questions": [_question_json(question, turn_ids) for question in questions],
    }


def _summary(conversations: tuple[Conversation, ...], questions: tuple[Question, ...]) -> str:
    sessions = sum(len(c.sessions) for c in conversations)
    turns = sum(len(session.lines) for c in conversations for session in c.sessions)
    per_category = {name: sum(q.category == name for q in questions) for name in sorted(CATEGORIES)}
    counts = ", ".join(f"{name} {count}" for name, count in per_category.items())
    return (
        f"{len(conversations)} conversations, {sessions} sessions, {turns} turns, "
        f"{len(questions)} questions ({counts})"
    )


def main() -> int:
    errors = validate(CONVERSATIONS, QUESTIONS)
    if errors:
        print(f"{len(errors)} problem(s) in the held-out data, nothing written:", file=sys.stderr)
        for error in errors:
            print(f"  - {error}", file=sys.stderr)
        return 1
    dataset = build(CONVERSATIONS, QUESTIONS)
    OUTPUT.write_text(json.dumps(dataset, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUTPUT.name}: {_summary(CONVERSATIONS, QUESTIONS)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
