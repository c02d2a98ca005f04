"""Real podman, buildah and containerd environments in private directories.

For the e2e tests, and for users trying the runtime without touching the
machine's configuration: each environment keeps its config, storage, state
and daemon socket under one directory it is given, and runs the runtime
through the launcher users install (`pyocijail.launcher`).

- `podman.PodmanEnv`, `buildah.BuildahEnv`, `containerd.Containerd`: the clients;
- `driver.Runtime`: runs the `pyocijail` command itself, the way conmon does;
- `hostcheck`: the launcher they call and `HostSnapshot`, what a run could leave
  on the machine (mounts, processes, cgroups), so a caller can check it left nothing.
"""
