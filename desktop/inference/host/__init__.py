"""The engine host: a child process that owns the engines and the loaded model.

`protocol` frames the messages, `server` is the child's loop, `client.HostedEngine` is the
`Engine` the inference worker and `hearth ask` use. Native code that aborts, segfaults or
runs out of memory ends the child, never Hearth.
"""
