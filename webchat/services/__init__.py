"""The domain: every rule of webchat lives in these modules, and only here.

Services take explicit arguments (the acting user, ids, text), raise `ChatError` with a
catalogue code, write through `transaction()` and announce through `realtime.queue`.
"""
