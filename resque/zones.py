"""Time zone abbreviations as Ruby's ``Time.parse`` reads them (``Date._parse``).

A ``failed_at`` written by a Ruby process in a zone such as ``CET`` or
``IST`` carries only the abbreviation; Ruby resolves it with a fixed table
(the offsets below, from Ruby's date library), not with the reader's local
zone. Offsets are seconds east of UTC.
"""
from __future__ import annotations

import re

_BY_OFFSET: dict[int, str] = {
    -43200: "aoe idlw y",
    -39600: "nt nut x",
    -36000: "ahst ckt hast hst taht w",
    -32400: "akst gamt hadt hdt v yst",
    -30600: "mart",
    -28800: "akdt pst u ydt",
    -25200: "mst pdt t",
    -21600: "cst galt mdt s",
    -18000: "act cdt cist cot easst ect est pet r",
    -14400: "ast bot cidst clt edt fkt gyt q vet",
    -12600: "nst",
    -10800: "adt art brt clst fkst gft p pmst pyst rott srt uyt warst wgt",
    -9000: "ndt",
    -7200: "at brst fnt o pmdt uyst wgst",
    -3600: "azot cvt egt n",
    0: "azost egst gmt ut utc wet wt z",
    3600: "a bst cet fwt met mewt mez swt wat west",
    7200: "b cat cest eet fst mest mesz sast sst",
    10800: "bt c eat eest fet idt msk syot trt",
    12600: "irst",
    14400: "azt d get kuyt msd mut ret samt sct zp4",
    16200: "aft irdt",
    18000: "aqtt azst e mawt mvt orat pkt tft tjt tmt uzt yekt zp5",
    19800: "ist",
    20700: "npt",
    21600: "almt btt f iot kgt omst qyzt vost yekst zp6",
    23400: "mmt",
    25200: "cxt davt g hovt ict krat novst novt omsst wast wib",
    28800: "awst bnt cast cct chot h hkt hovst irkt krast myt pht sgt ulat wadt wita",
    31500: "acwst",
    32400: "awdt chost i irkst jst kst pwt tlt ulast wit yakt",
    34200: "acst",
    36000: "aest chst chut ddut east gst k pgt vlat yakst yapt",
    37800: "acdt lhst",
    39600: "aedt eadt kost l lhdt magt nct nft pont sakt sbt sret vlast vut",
    43200: "anast anat fjt gilt idle m magst mht nfdt nrt nzst nzt petst pett tvt wakt wft",
    45900: "chast",
    46800: "fjst nzdt phot tkt tot",
    49500: "chadt",
    50400: "lint tost",
}

ZONES: dict[str, int] = {name: offset for offset, names in _BY_OFFSET.items()
                         for name in names.split()}
_NUMERIC = re.compile(r"(?:(?:utc|gmt|ut)\s*)?([+-])(\d{1,2})(?::?(\d{2}))?(?::?(\d{2}))?")


def zone_offset(zone: str) -> int | None:
    """Return the UTC offset of ``CET``, ``+05:30``, ``GMT+2`` ... in seconds, or None."""
    name = zone.strip().lower()
    if name in ZONES:
        return ZONES[name]
    numeric = _NUMERIC.fullmatch(name)
    if numeric is None:
        return None
    sign, hours, minutes, seconds = numeric.groups()
    offset = int(hours) * 3600 + int(minutes or 0) * 60 + int(seconds or 0)
    return -offset if sign == "-" else offset
