"""The platform's core: clock, configuration, errors, identity, database and unit of work,
tables, the audit chain, the organisation, the working calendar and notifications.

It knows nothing of BPMN or of the county: `engine.bpm` and `engine.county` build on it.
"""
