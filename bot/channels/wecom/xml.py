"""WeCom's XML, read with defusedxml (no DTDs, no entity expansion, no external entities) and written escaped."""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

MAX_BODY = 64 * 1024  # a callback is a few hundred bytes; anything near this is not from WeCom


class XmlError(ValueError):
    """A body that is not WeCom's flat XML: refused with a 4xx."""


def parse(body: bytes, *, limit: int = MAX_BODY) -> dict[str, str]:
    """The <xml> root's children as {tag: text}, nested elements flattened as Parent.Child; XmlError otherwise."""
    if len(body) > limit:
        raise XmlError("too large")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (ParseError, DefusedXmlException, ValueError) as e:  # ValueError: text that is not UTF-8
        raise XmlError(type(e).__name__) from None
    if root.tag != "xml":
        raise XmlError("root is not <xml>")
    out: dict[str, str] = {}
    for child in root:
        _flatten(child, child.tag, out)
    return out


def _flatten(element: Element, name: str, out: dict[str, str]) -> None:
    children = list(element)
    if not children:
        out[name] = (element.text or "").strip()
        return
    for child in children:
        _flatten(child, f"{name}.{child.tag}", out)


def build(fields: dict[str, str]) -> bytes:
    """<xml> with one child per field (text escaped by ElementTree)."""
    root = Element("xml")
    for key, value in fields.items():
        SubElement(root, key).text = value
    data: bytes = tostring(root, encoding="utf-8", xml_declaration=False)
    return data
