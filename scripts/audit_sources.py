"""List the sources of the fiches that are not on an official site, and rewrite service-public.fr sheets shown
on other public sites (co-marquage, `?xml=F1234`) to their address on service-public.fr.

    .venv/bin/python scripts/audit_sources.py [--fix]
"""

from __future__ import annotations

import re
import sys

from knowledge.fiches import FICHES_DIR, is_official

CO_MARQUAGE = re.compile(r"https?://[^\s\"']*[?&]xml=(?P<sheet>[FRN]\d+)[^\s\"']*")


def main() -> int:
    fix = "--fix" in sys.argv
    problems = 0
    for path in sorted(FICHES_DIR.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        if fix:
            text = CO_MARQUAGE.sub(
                lambda m: (
                    f"https://www.service-public.fr/particuliers/vosdroits/{m['sheet']}"
                    if not is_official(m.group(0)) or "service-public" not in m.group(0)
                    else m.group(0)
                ),
                text,
            )
            path.write_text(text, encoding="utf-8")
        for url in re.findall(r"url:\s*(\S+)", text):
            if not is_official(url) or not url.startswith("https://"):
                problems += 1
                print(f"{path.name}: {url}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
