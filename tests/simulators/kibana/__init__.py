"""Kibana connectors API simulator (tests only). Run: ``python tests/simulators/kibana --port N``.

An independent model of Kibana's connectors API written from the API reference
(/work/shared/reference/kibana-connectors-api.md, section numbers in comments); it never imports
plugins/. Modules: server (HTTP, routing, auth, spaces, faults, /_sim/), api (the operations),
store (state), validation (route checks + per-type pipeline), connector_types (schemas,
validators, defaults), config_schema (@kbn/config-schema texts, and zod's way of validating),
zod_texts (zod v3/v4 texts), versions (the Kibana version facts, 8.15-9.4), urls, faults, texts.
"""
