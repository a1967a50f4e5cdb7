"""The test project's app: tasks, a plain resque job and worker hooks."""
