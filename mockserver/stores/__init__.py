"""The store's backends: `memory` (the default), `sqlite` and `redis`; `store` is their protocol.

Nothing is imported here, so that opening one backend loads neither of the others.
"""
