"""The team: who knows which customer (the relationship graph and knowledge scores), and what a departure costs.

graph.py      the relationship graph (networkx) built from the book
knowledge.py  how well a CSM knows an account, as named signals with their explanation
coverage.py   bus factor, knowledge at risk per CSM, backups, floating CSMs needed (planner coverage)
"""
