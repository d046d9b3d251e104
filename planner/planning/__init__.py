"""Planning: a book in, a plan out -- who covers each account, and when CSMs leave.

pipeline.py   the one pipeline every solving command goes through (backend, fall-back, baselines,
              diagnosis, plan tables, evaluation) and the typed PlanResult it returns
solve.py      planning a book of business (the coverage model)
reassign.py   when CSMs leave: who inherits their accounts, with warm handoffs
tables.py     the plan's tables: assignments.csv and owners.csv from the chosen arcs
evaluate.py   the independent evaluator: every cost term and rule, recomputed from a plan alone
diagnose.py   why a book has no plan, in words
"""
