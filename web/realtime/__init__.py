"""Socket.IO: rooms per space, resource and user; handlers check joins like HTTP reads; emits after commit."""
