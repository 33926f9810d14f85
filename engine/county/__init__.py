"""The headquarters' domain: projects, issues and their ledger, supervision, plates, awards,
agendas, dispatch, reports, assessment and audit trails, and the save hooks it hands to the
BPM engine (`engine.county.hooks`).
"""
