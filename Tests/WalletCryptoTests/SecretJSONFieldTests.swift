import Foundation
import Testing
import WalletCrypto

@Suite("A secret JSON field is read into SecretBytes without a String")
struct SecretJSONFieldTests {
    func extract(_ json: String, field: String = "password") throws -> [UInt8] {
        let bytes = Array(json.utf8)
        let secret = try bytes.withUnsafeBytes { raw in try SecretJSONField.string(field, in: raw) }
        return secret.withUnsafeBytes { Array($0) }
    }

    @Test("a password written by the project's JSON writer or by Foundation's reads back byte for byte", arguments: [
        "hunter2", "", "pass word", "quote \" and backslash \\ and slash /", "tab\tnewline\nreturn\r",
        "\u{08}\u{0C}", "ünïcødé", "日本語のパスワード", "emoji 🔑🦊", "\u{01}\u{1F}", String(repeating: "x", count: 5000),
    ])
    func matchesFullParser(password: String) throws {
        // The project's writer escapes control characters as \uXXXX; Foundation's also escapes "/".
        let ours = JSONValue.object(JSONObject([("password", .string(password))])).serialized()
        #expect(try extract(ours) == Array(password.utf8))
        let foundation = try JSONSerialization.data(withJSONObject: ["user": "me", "password": password])
        #expect(try extract(String(decoding: foundation, as: UTF8.self)) == Array(password.utf8))
    }

    @Test("escapes other writers use decode: \\u with surrogate pairs, \\/ and short forms")
    func escapes() throws {
        #expect(try extract(#"{"password":"a\u00e9\u65E5\ud83d\udd11\/\b\f\n\r\t\"\\"}"#)
                == Array("aé日🔑/\u{08}\u{0C}\n\r\t\"\\".utf8))
    }

    @Test("other members of any kind are skipped, before and after the field")
    func skipsOtherMembers() throws {
        let body = #"""
         { "a": {"nested": [1, -2.5e+3, 0, true, false, null, {"k": "v\"}"}]},
           "password" : "s3cret",
           "z": [], "y": {}, "n": -0.0E-1 }
        """#
        #expect(try extract(body) == Array("s3cret".utf8))
    }

    @Test("a missing field, a non-string value and a duplicate are named", arguments: [
        (#"{"user":"x"}"#, SecretJSONField.Failure.missing(field: "password")),
        (#"{}"#, .missing(field: "password")),
        (#"{"password":42}"#, .notAString(field: "password")),
        (#"{"password":null}"#, .notAString(field: "password")),
        (#"{"password":"a","password":"b"}"#, .duplicate(field: "password")),
        (#"["password"]"#, .notAnObject),
        (#""password""#, .notAnObject),
        ("", .notAnObject),
    ])
    func namedFailures(body: String, expected: SecretJSONField.Failure) {
        #expect(throws: expected) { try extract(body) }
    }

    @Test("malformed JSON is refused, with an offset and never the body's bytes", arguments: [
        #"{"password":"abc"#, #"{"password":"abc"} x"#, #"{"password":"a\qb"}"#, #"{"password":"a\u12"}"#,
        #"{"password":"\ud800"}"#, #"{"password":"\udc00x"}"#, "{\"password\":\"a\u{01}b\"}", #"{"password" "a"}"#,
        #"{"password":"a",}"#, #"{"a":01,"password":"x"}"#, #"{"a":1.,"password":"x"}"#, #"{"a":tru,"password":"x"}"#,
        #"{"a":[1,],"password":"x"}"#, #"{"a":-,"password":"x"}"#, #"{password:"x"}"#,
        #"{"a":"# + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + #","password":"x"}"#,
    ])
    func malformed(body: String) {
        do {
            _ = try extract(body)
            Issue.record("accepted malformed JSON \(body)")
        } catch {
            guard let failure = error as? SecretJSONField.Failure, case .malformed = failure else {
                Issue.record("wrong failure \(error) for \(body)")
                return
            }
            #expect(!failure.description.contains("abc"))
        }
    }

    @Test("a body with a long password in a deep but allowed structure is read")
    func deepButAllowed() throws {
        let nested = String(repeating: "[", count: 30) + String(repeating: "]", count: 30)
        #expect(try extract(#"{"a":"# + nested + #","password":"deep"}"#) == Array("deep".utf8))
    }

    @Test("wipe zeroes a buffer in place")
    func wipe() {
        var bytes: [UInt8] = Array("secret".utf8)
        bytes.withUnsafeMutableBytes { SecretBytes.wipe($0) }
        #expect(bytes == [UInt8](repeating: 0, count: 6))
    }
}
