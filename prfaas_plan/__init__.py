"""prfaas-plan: capacity planner for cross-datacenter Prefill-as-a-Service LLM serving."""

__version__ = "0.1.0"
