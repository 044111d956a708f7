"""XMP parsing: the fields Lightroom, Capture One and darktable write, and nothing unsafe."""

from __future__ import annotations

from folders import metadata

ELEMENTS = b"""<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
 <xmp:Rating>3</xmp:Rating><xmp:Label>Green</xmp:Label>
 <dc:title><rdf:Alt><rdf:li xml:lang="de">Hafen</rdf:li><rdf:li xml:lang="x-default">Harbour</rdf:li></rdf:Alt></dc:title>
 <dc:description><rdf:Alt><rdf:li xml:lang="fr">Bateaux</rdf:li></rdf:Alt></dc:description>
</rdf:Description></rdf:RDF></x:xmpmeta>"""


def test_elements_and_language_alternatives():
    meta = metadata.parse_xmp(ELEMENTS)
    assert (meta.title, meta.description, meta.rating, meta.label) == ("Harbour", "Bateaux", 3, "Green")


def test_ratings_out_of_range_or_not_numbers_are_dropped():
    for raw, expected in ((b"5", 5), (b"-1", -1), (b"9", None), (b"lots", None), (b"2.0", 2)):
        assert metadata.parse_xmp(ELEMENTS.replace(b"<xmp:Rating>3", b"<xmp:Rating>" + raw)).rating == expected


def test_document_types_and_entities_are_refused_before_parsing():
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>' + ELEMENTS
    assert not metadata.parse_xmp(bomb)
    external = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' + ELEMENTS.replace(b"Harbour", b"&e;")
    assert not metadata.parse_xmp(external)


def test_broken_or_huge_documents_give_nothing():
    assert not metadata.parse_xmp(b"<x:xmpmeta><unclosed>")
    assert not metadata.parse_xmp(b"")
    assert not metadata.parse_xmp(ELEMENTS + b" " * metadata.MAX_XMP)


def test_the_packet_is_found_in_a_files_first_bytes():
    blob = b"\xff\xd8\xff\xe1\x00\x10http://ns.adobe.com/xap/1.0/\x00" + ELEMENTS + b"\xff\xd9"
    assert metadata.find_xmp_packet(blob) == ELEMENTS
    assert metadata.find_xmp_packet(b"\xff\xd8 no packet") is None
    assert metadata.find_xmp_packet(ELEMENTS[:100]) is None  # cut off


def test_a_sidecar_wins_over_the_embedded_packet():
    embedded = metadata.Metadata(title="Old", description="Kept", rating=1)
    sidecar = metadata.Metadata(title="New", rating=4)
    merged = embedded.merged(sidecar)
    assert (merged.title, merged.description, merged.rating) == ("New", "Kept", 4)


def test_sidecar_names():
    assert metadata.sidecar_names("IMG_1.CR2") == ["IMG_1.CR2.xmp", "IMG_1.CR2.XMP", "IMG_1.xmp", "IMG_1.XMP"]
