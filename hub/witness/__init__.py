"""``jembatan witness``: an independent C2SP ``tlog-witness`` that cosigns the hub's
checkpoints (``server``, ``state``), and the hub's side that asks witnesses for their
cosignatures (``collector``)."""
