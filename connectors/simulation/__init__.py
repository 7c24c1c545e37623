"""Simulated agencies of the Perlinsos pilot: their REST APIs, faults, and how to run them.

Simulation only: nothing here is part of what a real agency deploys (that is
``connectors.sdk`` and its adapter).
"""
