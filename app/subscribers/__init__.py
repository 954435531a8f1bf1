"""Subscribers: the Manage API, incident subscribers, and the public self-service endpoints."""
