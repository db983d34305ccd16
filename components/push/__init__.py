"""The Pusher's executor that puts a version in place in one step."""
