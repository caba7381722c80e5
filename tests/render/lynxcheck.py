#!/usr/bin/python3
"""Compare our rendering of an HTML mail with lynx -dump.

usage: lynxcheck.py FILE.html OURS.txt

lynx ignores CSS, so the elements our renderer hides (the hidden
attribute, display:none, mso-hide:all, <template>) are removed first with
Python's own HTML parser.  Then both texts must hold the same words in the
same order (whitespace, wrapping, punctuation, bullets and link numbers
aside), and every link lynx lists must be in our text.  Prints the first
difference and exits 1 otherwise."""
import difflib
import html.parser
import re
import subprocess
import sys
import tempfile

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
        "meta", "param", "source", "track", "wbr"}


def hidden(tag, attrs):
    if tag == "template":
        return True
    for name, value in attrs:
        if name == "hidden":
            return True
        if name == "style" and value:
            for decl in value.split(";"):
                prop, _, val = decl.partition(":")
                prop = prop.strip().lower()
                val = re.sub(r"\s+", "", val.lower()).replace("!important", "")
                if (prop, val) in (("display", "none"), ("mso-hide", "all")):
                    return True
    return False


class Stripper(html.parser.HTMLParser):
    """Copies the source without hidden elements (by position, so the rest
    stays exactly as written)."""

    def __init__(self, src):
        super().__init__(convert_charrefs=False)
        self.src = src
        self.lines = [0]
        for m in re.finditer("\n", src):
            self.lines.append(m.end())
        self.cut = []       # [start, end) spans to drop
        self.skip = None    # (tag, depth, start)

    def pos(self):
        line, col = self.getpos()
        return self.lines[line - 1] + col

    def handle_starttag(self, tag, attrs):
        if self.skip:
            if tag == self.skip[0] and tag not in VOID:
                self.skip[1] += 1
            return
        if hidden(tag, attrs):
            start = self.pos()
            if tag in VOID:
                end = start + len(self.get_starttag_text())
                self.cut.append((start, end))
            else:
                self.skip = [tag, 1, start]

    def handle_endtag(self, tag):
        if self.skip and tag == self.skip[0]:
            self.skip[1] -= 1
            if self.skip[1] == 0:
                end = self.src.index(">", self.pos()) + 1
                self.cut.append((self.skip[2], end))
                self.skip = None


def strip_hidden(src):
    p = Stripper(src)
    p.feed(src)
    p.close()
    out, last = [], 0
    for start, end in p.cut:
        out.append(src[last:start])
        last = end
    out.append(src[last:])
    return "".join(out)


def words(text):
    return re.findall(r"[^\W_]+", text)


def main():
    html_path, ours_path = sys.argv[1], sys.argv[2]
    raw = open(html_path, "rb").read()
    m = re.search(rb'charset="?([\w-]+)', raw[:1024])
    charset = m.group(1).decode() if m else "utf-8"
    src = raw.decode(charset if charset.lower() not in
                     ("iso-8859-1", "latin1") else "cp1252")
    visible = strip_hidden(src)
    with tempfile.NamedTemporaryFile("w", suffix=".html",
                                     encoding="utf-8") as f:
        f.write(re.sub(r'(charset="?)[\w-]+', r"\1utf-8", visible,
                       count=1) if m else visible)
        f.flush()
        lynx = ["lynx", "-dump", "-force_html", "-width=1000",
                "-assume_charset=utf-8", "-display_charset=utf-8"]
        text = subprocess.run(lynx + ["-nolist", "-nonumbers", f.name],
                              capture_output=True, text=True,
                              check=True).stdout
        links = subprocess.run(lynx + ["-listonly", "-nonumbers", f.name],
                               capture_output=True, text=True,
                               check=True).stdout
    # lynx's placeholders for images without alt text and its bullets
    text = re.sub(r"\[(INLINE|LINK|IMAGE|[^\]\s]*\.(png|gif|jpe?g))\]", " ",
                  text)
    text = re.sub(r"(?m)^\s*[o#+*]\s", " ", text)
    ours = open(ours_path, encoding="utf-8").read()
    body, _, ourlinks = ours.partition("\nLinks:\n")
    body = re.sub(r"\[\d+\]", " ", body)
    a, b = words(text), words(body)
    if a != b:
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(
                None, a, b, autojunk=False).get_opcodes():
            if tag != "equal":
                print("lynx: ... %s ..." % " ".join(a[max(0, i1 - 3):i2 + 3]))
                print("ours: ... %s ..." % " ".join(b[max(0, j1 - 3):j2 + 3]))
                break
        return 1
    for url in re.findall(r"(?m)^\s*((?:https?|mailto|ftp):\S+)", links):
        plain = url[7:] if url.startswith("mailto:") else url
        if url not in ours and plain not in ours:
            print("link missing: %s" % url)
            return 1
    print("%d words, %d links agree" % (len(a), len(set(re.findall(
        r"(?m)^\s*((?:https?|mailto|ftp):\S+)", links)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
