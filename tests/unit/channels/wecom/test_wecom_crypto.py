"""WeCom's callback crypto against published vectors (Tencent's sample, WeCom's doc example via wechatpy's tests)."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot.channels.wecom.crypto import CryptoError, WeComCrypto, signature
from bot.channels.wecom.xml import XmlError, build, parse

# Tencent's weworkapi_python callback/Sample.py (WECOM-NOTES.md)
SAMPLE = WeComCrypto("hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
                     "ww1436e0e65a779aee")
SAMPLE_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
# wechatpy tests/test_enterprise_crypto.py (the values of WeCom's own worked example)
WECHATPY = WeComCrypto("123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a")
WECHATPY_ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
WECHATPY_MESSAGE = (
    "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh"
    "6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQq"
    "Gp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7F"
    "S709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
WECHATPY_REPLY = """<xml>
<MsgType><![CDATA[text]]></MsgType>
<Content><![CDATA[test]]></Content>
<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>
<ToUserName><![CDATA[messense]]></ToUserName>
<AgentID>1</AgentID>
<CreateTime>1411525903</CreateTime>
</xml>"""
WECHATPY_REPLY_ENCRYPTED = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObve"
    "sEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrr"
    "NrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPo"
    "QJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3")


def test_tencent_sample_url_verification() -> None:
    SAMPLE.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", SAMPLE_ECHO)
    assert SAMPLE.decrypt(SAMPLE_ECHO) == b"1288432023552776189"


def test_wechatpy_vectors_signature_echo_message_and_reply() -> None:
    WECHATPY.verify("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", WECHATPY_ECHO)
    assert WECHATPY.decrypt(WECHATPY_ECHO) == b"5927782489442352469"
    with pytest.raises(CryptoError):  # one digit of the nonce changed
        WECHATPY.verify("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", WECHATPY_ECHO)
    WECHATPY.verify("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", WECHATPY_MESSAGE)
    message = parse(WECHATPY.decrypt(WECHATPY_MESSAGE))
    assert (message["Content"], message["FromUserName"]) == ("test", "messense")
    encrypted = WECHATPY.encrypt(WECHATPY_REPLY.encode(), random16=b"1234567890123456")
    assert encrypted == WECHATPY_REPLY_ENCRYPTED
    assert WECHATPY.sign("1411525903", "461056294", encrypted) == "407518b7649e86ef23978113f92d27afa9296533"
    assert signature("test", "123456", "test", "rust") == "d6056f2bb3ad3e30f4afa5ef90cc9ddcdc7b7b27"  # sorted as str


@pytest.mark.parametrize("size", [0, 1, 11, 12, 13, 43, 44, 45, 1000])
def test_padding_is_to_32_byte_blocks_and_round_trips(size: int) -> None:
    message = bytes(range(256))[:size] * 1 if size <= 256 else b"x" * size
    encrypted = SAMPLE.encrypt(message)
    raw = base64.b64decode(encrypted)
    plain_len = 16 + 4 + len(message) + len(SAMPLE.receive_id)
    assert len(raw) == (plain_len // 32 + 1) * 32  # a whole 32-byte block is added when already aligned
    assert SAMPLE.decrypt(encrypted) == message


def _raw_encrypt(crypto: WeComCrypto, plain: bytes) -> str:
    enc = Cipher(algorithms.AES(crypto.key), modes.CBC(crypto.key[:16])).encryptor()
    return base64.b64encode(enc.update(plain) + enc.finalize()).decode()


def test_another_receiveid_bad_padding_bad_length_and_garbage_are_refused() -> None:
    other = WeComCrypto(SAMPLE.token, "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww_someone_else")
    with pytest.raises(CryptoError, match="receiveid"):
        SAMPLE.decrypt(other.encrypt(b"<xml/>"))
    framed = b"r" * 16 + struct.pack(">I", 6) + b"<xml/>" + SAMPLE.receive_id
    bad_pad = framed + bytes([0]) * (64 - len(framed))  # a pad byte of 0 is never valid
    with pytest.raises(CryptoError, match="padding"):
        SAMPLE.decrypt(_raw_encrypt(SAMPLE, bad_pad))
    long_claim = b"r" * 16 + struct.pack(">I", 10_000) + b"<xml/>" + SAMPLE.receive_id
    pad = 64 - len(long_claim)
    with pytest.raises(CryptoError, match="length"):
        SAMPLE.decrypt(_raw_encrypt(SAMPLE, long_claim + bytes([pad]) * pad))
    for garbage in ("not base64!", "", "QUJD", base64.b64encode(b"x" * 17).decode()):
        with pytest.raises(CryptoError):
            SAMPLE.decrypt(garbage)
    with pytest.raises(ValueError):
        WeComCrypto("t", "too-short", "corp")


def test_repr_shows_no_secret() -> None:
    assert "hJqcu3" not in repr(SAMPLE) and "6qkdMrq" not in repr(SAMPLE)


@pytest.mark.parametrize("body", [
    b"<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]><xml><A>&lol2;</A></xml>",
    b"<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><A>&e;</A></xml>",
    b"<xml><A>unclosed</xml>",
    b"<notxml><A>1</A></notxml>",
    b"<xml><A>\xff\xfe</A></xml>",
    b"<xml>" + b"<A>x</A>" * 20_000 + b"</xml>",
])
def test_hostile_xml_is_refused(body: bytes) -> None:
    with pytest.raises(XmlError):
        parse(body)


def test_xml_round_trip_with_markup_in_text() -> None:
    fields = {"Content": "<b>&amp; 高企 12家</b>]]>", "MsgType": "text"}
    assert parse(build(fields)) == fields
