"""Tools the persona may call during a turn: the framework, the built-in tools, MCP servers' tools.

A tool is offered only when the persona's allowlist names it (`PersonaSpec.tools`); its output is
data fenced in the prompt, scoped to the person whose turn called it.
"""
