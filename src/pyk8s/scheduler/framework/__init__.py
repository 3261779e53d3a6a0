"""The scheduling framework: extension-point interfaces, Status, CycleState, the plugin
registry, profiles from KubeSchedulerConfiguration and the per-profile runtime."""
