"""What the packaged app leaves out, and the pruning of system libraries nothing needs any more.

Used by build/fashionsim.spec on the Analysis' TOCs (lists of (destination, source, typecode)). The app draws
with QtWidgets on xcb (X11, XWayland) or offscreen, decodes every picture with Pillow and speaks English, so it
needs no Qt translations, no Wayland/EGL/VNC platforms, no SVG, no GTK theme (whose GTK, cairo and pango stacks
are most of the system libraries PyInstaller would collect) and only the JPEG/GIF/ICO image plugins (pictures
dropped or pasted from a browser). Each pattern is a destination path in the bundle (fnmatch).
"""
from __future__ import annotations

import subprocess
from fnmatch import fnmatch

QT = "PySide6/Qt/"
UNUSED = [
    QT + "translations/*",
    *(QT + f"plugins/platforms/libq{name}.so" for name in
      ("eglfs", "linuxfb", "minimal", "minimalegl", "vkkhrdisplay", "vnc", "wayland")),
    QT + "plugins/wayland-*", QT + "plugins/egldeviceintegrations/*", QT + "plugins/generic/*",
    QT + "plugins/xcbglintegrations/*", QT + "plugins/iconengines/*", QT + "plugins/platformthemes/libqgtk3.so",
    *(QT + f"plugins/imageformats/libq{name}.so" for name in ("icns", "svg", "tga", "tiff", "wbmp", "webp")),
    *(QT + f"lib/libQt6{name}.so*" for name in
      ("WaylandClient", "WlShellIntegration", "EglFSDeviceIntegration", "EglFsKmsSupport", "Svg", "Network",
       "OpenGL")),
]


def unused(dest: str) -> bool:
    return any(fnmatch(dest, pattern) for pattern in UNUSED)


def _needed(path: str) -> set[str]:
    """The sonames an ELF file links (readelf, which PyInstaller itself needs on Linux)."""
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return {line.split("[", 1)[1].split("]", 1)[0] for line in out.splitlines() if "(NEEDED)" in line}


def prune_system_libraries(binaries: list) -> tuple[list, list[str]]:
    """Drop the top-level (system) libraries that no kept binary links, directly or through others, once the
    unused plugins are gone. Libraries inside packages (numpy.libs, cv2 ...) and libpython (which the bootloader
    opens by name) always stay. Returns (binaries kept, names dropped)."""
    top = {dest: src for dest, src, _ in binaries if "/" not in dest}
    wanted: set[str] = set()
    queue = [src for dest, src, _ in binaries if "/" in dest or dest.startswith("libpython")]
    seen: set[str] = set()
    while queue:
        src = queue.pop()
        if src in seen:
            continue
        seen.add(src)
        for soname in _needed(src):
            if soname in top and soname not in wanted:
                wanted.add(soname)
                queue.append(top[soname])
    keep = [entry for entry in binaries
            if "/" in entry[0] or entry[0].startswith("libpython") or entry[0] in wanted]
    dropped = sorted(set(top) - wanted - {d for d in top if d.startswith("libpython")})
    return keep, dropped
