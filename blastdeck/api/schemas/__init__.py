"""The JSON answers of the API as pydantic models, one module per resource.

They are the response models of the routes (so /openapi.json documents every answer, and the
web page's TypeScript types are generated from it) and what `api/payloads.py` builds for the
CLI. Timestamps stay ISO strings exactly as the store's datetimes print them.
"""
