"""Helpers shared by the side-by-side benchmark scripts of this folder."""
import platform


def cpu_model():
    """The CPU's model name, for the report line of a benchmark."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
