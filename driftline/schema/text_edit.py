"""Where things are in a text-format proto, and editing one without losing its comments.

protobuf's Python parser gives no positions and its printer drops comments, so a schema
rewritten through it loses every line of explanation a person wrote. Here the file is
tokenised once into a tree of fields with their offsets, and an edit becomes a handful of
text splices: replace a value, insert a field after its siblings, delete a field's lines.
The result is parsed again and must equal the intended proto, or nothing is written.
"""
import os
import re
from dataclasses import dataclass, field
from typing import List, Optional

from google.protobuf import text_format
from google.protobuf.descriptor import FieldDescriptor

from components.errors import SchemaError

_TOKEN = re.compile(
    r'(?P<comment>#[^\n]*)|(?P<string>"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\')'
    r"|(?P<open>[{<])|(?P<close>[}>])|(?P<colon>:)|(?P<word>[^\s{}<>:#\"']+)|(?P<space>\s+)"
)


@dataclass
class Node:
    """A field of a text-format proto with the position where it was written.

    `start`/`end` are offsets of the whole field (name to value or closing brace);
    `value_start`/`value_end` cover a scalar's value token, `body` is the offset just
    after a message's opening brace."""

    name: str
    line: int
    col: int
    value: Optional[str] = None
    children: List["Node"] = field(default_factory=list)
    start: int = 0
    end: int = 0
    value_start: int = 0
    value_end: int = 0
    body: int = 0

    def all(self, name):
        return [c for c in self.children if c.name == name]

    def first(self, name):
        found = self.all(name)
        return found[0] if found else None


def locate(text: str) -> Node:
    """The position tree of a text-format proto. Assumes the text already parsed: it is
    only asked where things are."""
    root = Node("", 1, 1, end=len(text), body=0)
    stack, pending = [root], None
    line, line_start = 1, 0
    for match in _TOKEN.finditer(text):
        kind, token = match.lastgroup, match.group()
        col = match.start() - line_start + 1
        if kind in ("space", "comment", "colon"):
            pass
        elif kind == "word" and pending is None:
            pending = Node(token, line, col, start=match.start())
        elif kind == "open" and pending is not None:
            pending.body = match.end()
            stack[-1].children.append(pending)
            stack.append(pending)
            pending = None
        elif kind == "close":
            if len(stack) > 1:
                stack.pop().end = match.end()
        elif pending is not None:  # a scalar value (word or string)
            pending.value = token[1:-1] if kind == "string" else token
            pending.value_start, pending.value_end = match.start(), match.end()
            pending.end = match.end()
            stack[-1].children.append(pending)
            pending = None
        newlines = token.count("\n")
        if newlines:
            line += newlines
            line_start = match.start() + token.rfind("\n") + 1
    return root


# --- comparing protos the way a reader does ----------------------------------------------

def _key_field(descriptor) -> Optional[str]:
    return "name" if "name" in descriptor.fields_by_name else None


def canonical(message):
    """A copy in which order does not matter: repeated scalars sorted, named repeated
    messages sorted by name. Two schemas that differ only in order compare equal."""
    copy = type(message)()
    copy.CopyFrom(message)
    _canonicalise(copy)
    return copy


def _canonicalise(message):
    for fd, value in message.ListFields():
        if fd.type != FieldDescriptor.TYPE_MESSAGE:
            if fd.label == FieldDescriptor.LABEL_REPEATED:
                ordered = sorted(value)
                del value[:]
                value.extend(ordered)
            continue
        items = list(value) if fd.label == FieldDescriptor.LABEL_REPEATED else [value]
        for item in items:
            _canonicalise(item)
        key = _key_field(fd.message_type)
        if fd.label == FieldDescriptor.LABEL_REPEATED and key:
            copies = []
            for item in items:
                copies.append(type(item)())
                copies[-1].CopyFrom(item)
            copies.sort(key=lambda m: getattr(m, key))
            del value[:]
            for item in copies:
                value.add().CopyFrom(item)


# --- editing ------------------------------------------------------------------------------

def _line_start(text, offset):
    return text.rfind("\n", 0, offset) + 1


def _line_end(text, offset):
    """Offset just past the newline ending the line that holds `offset`."""
    end = text.find("\n", offset)
    return len(text) if end < 0 else end + 1


def _render(parent_type, fd, value, one_line: bool = False) -> str:
    """One field as text format, as protobuf prints it."""
    holder = parent_type()
    if fd.label == FieldDescriptor.LABEL_REPEATED:
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(holder, fd.name).add().CopyFrom(value)
        else:
            getattr(holder, fd.name).append(value)
    elif fd.type == FieldDescriptor.TYPE_MESSAGE:
        getattr(holder, fd.name).CopyFrom(value)
    else:
        setattr(holder, fd.name, value)
    return text_format.MessageToString(holder, as_one_line=one_line)


def _scalar_token(parent_type, fd, value) -> str:
    line = _render(parent_type, fd, value, one_line=True).strip()
    return line.split(":", 1)[1].strip()


class _Editor:
    def __init__(self, text: str):
        self.text = text
        self.splices = []  # (start, end, replacement)

    def replace(self, start, end, replacement):
        self.splices.append((start, end, replacement))

    def delete(self, node: Node):
        text = self.text
        before = text[_line_start(text, node.start):node.start]
        after_end = _line_end(text, node.end)
        after = text[node.end:after_end].split("#", 1)[0]
        if not before.strip() and not after.strip():
            start = _line_start(text, node.start)
            # The comment lines right above a field describe it: they go with it.
            while start > 0:
                above = _line_start(text, start - 1)
                if not text[above:start].strip().startswith("#"):
                    break
                start = above
            self.replace(start, after_end, "")
        else:  # one field among others on a line: take the space before it too
            start = node.start
            while start > 0 and text[start - 1] in " \t":
                start -= 1
            self.replace(start, node.end, "")

    def add(self, parent: Node, anchor: Optional[Node], render):
        """A new field after `anchor` (else first in `parent`), laid out like its
        neighbours: on its own lines, or inline when the block is written on one line.
        `render(one_line)` gives the field's text."""
        text = self.text
        if parent.name == "":
            closes_inline = False
        else:
            closes_inline = _line_start(text, parent.end - 1) <= (anchor.end if anchor else parent.body)
        if closes_inline:
            at = anchor.end if anchor else parent.body
            self.replace(at, at, " " + render(True).strip())
            return
        if anchor is not None:
            indent, at = anchor.col - 1, _line_end(text, anchor.end)
        elif parent.name == "":
            indent, at = 0, len(text)
        else:
            indent, at = parent.col - 1 + 2, _line_end(text, parent.body)
        prefix = "" if at == 0 or text[:at].endswith("\n") else "\n"
        self.replace(at, at, prefix + _reindent(render(False), indent))

    def result(self) -> str:
        text = self.text
        for start, end, replacement in sorted(self.splices, key=lambda s: (s[0], s[1]), reverse=True):
            text = text[:start] + replacement + text[end:]
        return text


def _reindent(rendered: str, indent: int) -> str:
    lines = rendered.rstrip("\n").split("\n")
    return "".join(" " * indent + line + "\n" for line in lines)


def _has(message, fd) -> bool:
    if fd.label == FieldDescriptor.LABEL_REPEATED:
        return len(getattr(message, fd.name)) > 0
    return message.HasField(fd.name)


def _patch(editor: _Editor, node: Node, old, new):
    kind = type(new)
    for fd in new.DESCRIPTOR.fields:
        nodes = node.all(fd.name)
        last = nodes[-1] if nodes else (node.children[-1] if node.children else None)

        def add(value):
            editor.add(node, last, lambda one_line: _render(kind, fd, value, one_line))

        if fd.label == FieldDescriptor.LABEL_REPEATED:
            olds, news = list(getattr(old, fd.name)), list(getattr(new, fd.name))
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                _patch_repeated_messages(editor, fd, nodes, olds, news, add)
            else:
                remaining = list(news)
                for n, value in zip(nodes, olds):
                    if value in remaining:
                        remaining.remove(value)
                    else:
                        editor.delete(n)
                for value in remaining:
                    add(value)
            continue
        had, has = _has(old, fd), _has(new, fd)
        if had and has:
            if getattr(old, fd.name) == getattr(new, fd.name):
                continue
            if fd.type == FieldDescriptor.TYPE_MESSAGE:
                _patch(editor, nodes[0], getattr(old, fd.name), getattr(new, fd.name))
            else:
                target = nodes[0]
                editor.replace(target.value_start, target.value_end,
                               _scalar_token(kind, fd, getattr(new, fd.name)))
        elif has:
            add(getattr(new, fd.name))
        elif had:
            for n in nodes:
                editor.delete(n)


def _patch_repeated_messages(editor, fd, nodes, olds, news, add):
    key = _key_field(fd.message_type)
    if key:
        new_by_key = {getattr(m, key): m for m in news}
        seen = set()
        for n, message in zip(nodes, olds):
            name = getattr(message, key)
            if name in new_by_key:
                seen.add(name)
                if message != new_by_key[name]:
                    _patch(editor, n, message, new_by_key[name])
            else:
                editor.delete(n)
        for message in news:
            if getattr(message, key) not in seen:
                add(message)
        return
    for i, message in enumerate(news):
        if i < len(olds):
            if olds[i] != message:
                _patch(editor, nodes[i], olds[i], message)
        else:
            add(message)
    for n in nodes[len(news):]:
        editor.delete(n)


def rewrite(text: str, old, new, path: str = "schema") -> str:
    """`text` (which parses to `old`) edited so that it parses to `new`, keeping every
    comment and the layout of what did not change."""
    editor = _Editor(text)
    _patch(editor, locate(text), old, new)
    result = editor.result()
    check = type(new)()
    try:
        text_format.Parse(result, check)
    except text_format.ParseError as exc:
        raise SchemaError(f"{path}: the edits could not be applied to the text ({exc}); "
                          "nothing was written") from None
    if canonical(check) != canonical(new):
        raise SchemaError(f"{path}: the edits could not be applied without changing other "
                          "fields; nothing was written")
    return result


def write_schema(path, text: str):
    """Replaces a schema file in one step (a reader never sees half a schema)."""
    try:
        tmp = path.with_name(f".{path.name}.driftline-tmp")
        tmp.write_text(text)
        os.chmod(tmp, path.stat().st_mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise SchemaError(f"{path}: cannot write the edited schema ({exc.strerror}); the file "
                          "is unchanged") from None
