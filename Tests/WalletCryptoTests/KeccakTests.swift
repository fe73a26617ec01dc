import Testing
import WalletCrypto

@Suite("Keccak-256")
struct KeccakTests {
    @Test("one-shot Keccak-256 matches every PROTOCOLS.md vector", arguments: Vectors.list("keccak"))
    func oneShot(vector: JSONValue) {
        #expect(Hex.encode(Keccak256.hash(Vectors.bytes(vector["hex"]?.s))) == vector["digest"]?.s, "vector \(vector["id"]?.s ?? "?")")
    }

    @Test("incremental hashing in uneven chunks equals one-shot", arguments: Vectors.list("keccak"))
    func incremental(vector: JSONValue) {
        let input = Vectors.bytes(vector["hex"]?.s)
        for chunk in [1, 7, 64, 135, 136, 137] {
            var hasher = Keccak256Hasher()
            var i = 0
            while i < input.count {
                hasher.update(Array(input[i..<min(i + chunk, input.count)]))
                i += chunk
            }
            #expect(Hex.encode(hasher.finalize()) == vector["digest"]?.s, "vector \(vector["id"]?.s ?? "?") chunk \(chunk)")
        }
    }

    @Test("Keccak-256 is not SHA3-256 (padding 0x01, not 0x06)")
    func notSHA3() {
        #expect(Hex.encode(Keccak256.hash("")) != "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a")
        #expect(Hex.encode(Keccak256.hash("abc")) != "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532")
    }

    @Test("long input crossing many blocks hashes like its incremental form")
    func longInput() {
        let input = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var hasher = Keccak256Hasher()
        hasher.update(Array(input[0..<5000]))
        hasher.update(Array(input[5000...]))
        #expect(hasher.finalize() == Keccak256.hash(input))
    }
}
