"""Running the platform: the platform object that wires core, BPM engine and county
together, the worker, the command line, the demo county, dry runs, backups, API tokens
and webhooks.
"""
