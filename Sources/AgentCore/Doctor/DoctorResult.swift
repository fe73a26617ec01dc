/// One rule's verdict in `venice-agent doctor`: the rule's name (as in
/// docs/VENICE-CONFORMANCE.md) and one line of detail (for a failure: what to do).
public struct DoctorResult: Sendable, Equatable {
    public enum Verdict: String, Sendable, Equatable { case pass = "PASS", fail = "FAIL", skip = "SKIP" }

    public let rule: String
    public let verdict: Verdict
    public let detail: String

    public init(_ rule: String, _ verdict: Verdict, _ detail: String) {
        self.rule = rule
        self.verdict = verdict
        self.detail = detail
    }

    public static func pass(_ rule: String, _ detail: String) -> Self { .init(rule, .pass, detail) }
    public static func fail(_ rule: String, _ detail: String) -> Self { .init(rule, .fail, detail) }
    public static func skip(_ rule: String, _ detail: String) -> Self { .init(rule, .skip, detail) }

    public var isPass: Bool { verdict == .pass }

    /// `PASS rule  detail`: one line, whatever the detail held.
    public var line: String {
        let flat = detail.split(whereSeparator: \.isNewline).joined(separator: " ")
        return "\(verdict.rawValue) \(rule)  \(flat)"
    }

    /// The process's exit status for a run: 1 when any rule failed.
    public static func exitStatus(_ results: [DoctorResult]) -> Int32 {
        results.contains { $0.verdict == .fail } ? 1 : 0
    }
}
