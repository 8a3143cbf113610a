"""The domain: every rule of webchat lives in these modules, and only here.

Services take explicit arguments (the acting user, ids, text), raise `ChatError` with a
catalogue code, write through `transaction()` and say what changed through `realtime` (`emit_after_commit`, `touch_after_commit`).
"""
