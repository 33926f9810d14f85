"""The BPM engine on SpiffWorkflow: safe XML, parser, checks, sandbox, lint, definitions,
instance state, compaction, projections, runtime, timers, messages, forms, assignment,
service levels, the inbox and the task actions.

It builds on `engine.core` only; the county's work reaches it as save hooks handed in.
"""
