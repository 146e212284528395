"""Hypervectors from Python: the buffer protocol, the algebra's laws, the JSON encoder."""
import array

import pytest

import witness


@pytest.fixture(scope="module")
def atoms():
    return witness.AtomMemory(seed=42, dim=1024)


def test_buffer_protocol_shares_components(atoms):
    a = atoms.atom("src_ip")
    view = memoryview(a)
    assert view.format == "b" and view.shape == (1024,) and view.readonly
    assert view.tolist() == a.tolist()
    assert set(view.tolist()) <= {-1, 0, 1}
    with pytest.raises(TypeError):
        view[0] = 1  # read-only: a write could leave {-1, 0, +1}
    # And back: a Vector from any int8 buffer equals the original.
    assert witness.Vector(array.array("b", view.tolist())) == a
    assert witness.Vector(bytes(view)) == a  # bytes of int8 two's complement
    with pytest.raises(ValueError, match="-1, 0 or \\+1"):
        witness.Vector.from_list([0, 1, 2])
    with pytest.raises(ValueError):
        witness.Vector(array.array("b", [0, 5]))


def test_atoms_are_reproducible_and_nearly_orthogonal(atoms):
    again = witness.AtomMemory(seed=42, dim=1024)
    assert again.atom("x") == atoms.atom("x")
    assert witness.AtomMemory(seed=43, dim=1024).atom("x") != atoms.atom("x")
    assert abs(atoms.atom("x").cosine(atoms.atom("y"))) < 0.15


def test_bind_is_its_own_inverse_and_bundle_keeps_members_similar(atoms):
    a, b, c = atoms.atom("a"), atoms.atom("b"), atoms.atom("c")
    bound = a.bind(b)
    assert abs(bound.cosine(a)) < 0.15
    # Ternary atoms: binding again restores a wherever b is non-zero (about two thirds).
    assert bound.bind(b).cosine(a) > 0.7
    s = witness.bundle([a, b, c])
    for v in (a, b, c):
        assert s.cosine(v) > 0.3
    assert s.cosine(atoms.atom("d")) < 0.15
    assert a.permute(3).permute(-3) == a
    with pytest.raises(ValueError, match="dim"):
        a.bind(witness.AtomMemory(seed=1, dim=512).atom("a"))


def test_encoder_is_deterministic_and_similarity_tracks_shared_fields(atoms):
    enc = witness.Encoder(atoms)
    p = {"src_ip": "10.0.0.1", "dst_port": 443, "proto": "tcp"}
    v = enc.encode(p)
    assert v.dim == 1024 and v == enc.encode('{"proto":"tcp","dst_port":443,"src_ip":"10.0.0.1"}')
    near = enc.encode({**p, "src_ip": "10.0.0.2"})
    far = enc.encode({"src_ip": "192.168.9.9", "dst_port": 22, "proto": "udp"})
    assert v.cosine(near) > v.cosine(far)
    with pytest.raises(ValueError, match="expected a JSON object"):
        enc.encode("[1, 2]")
