"""The marketplace's API gateway in front of Agents backends and API products (PROTOCOL §14).

The buyer calls the emulator; the gateway checks the buyer's key, adds the §14.1 headers (and the
HS256 JWT in AK/SK mode), forwards the call to the product's registered backend, checks the reply's
``usage`` and records and bills the call. Modules: ``jwt`` (the token), ``usage`` (the reply
check, JSON and SSE), ``targets`` (the only URLs that can be reached), ``inputs`` (registration),
``records`` (the call journal), ``service`` (backends, keys, summaries), ``forwarder`` (the HTTP
glue), ``demo_backend`` (a built-in backend), ``routes`` (the buyer's endpoint).
"""
