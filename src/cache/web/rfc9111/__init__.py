"""RFC 9111 shared-cache rules as pure functions: no I/O, a clock passed in.

The ASGI middleware and the Django adapter only do I/O around these:
:mod:`~cache.web.rfc9111.directives` parses the fields,
:mod:`~cache.web.rfc9111.freshness` decides storing and freshness,
:mod:`~cache.web.rfc9111.exchange` shapes what is stored, validated,
updated and invalidated, and :mod:`~cache.web.rfc9111.decide` picks what to
do with a request given what is stored.
"""
