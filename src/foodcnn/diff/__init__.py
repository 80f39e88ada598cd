"""`foodcnn diff`: is a difference between two revisions or experiments evidence or noise?

A command beside the pipeline, never inside it: it reads the committed per-image predictions of each revision
(`plots/predictions/<role>.csv`) through DVC, so no stage ever reads git history.
"""
