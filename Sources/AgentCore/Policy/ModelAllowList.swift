/// The models a client may use: exact ids (`venice-uncensored-1-2`) or prefixes written
/// `prefix-*` (`qwen-*`). A policy narrowed by another keeps both lists: a model must then
/// be allowed by each (`requirements` are AND-ed, the patterns within one are OR-ed).
public struct ModelAllowList: Sendable, Hashable, CustomStringConvertible {
    public enum Pattern: Sendable, Hashable, CustomStringConvertible {
        case exact(String)
        case prefix(String)

        func matches(_ model: String) -> Bool {
            switch self {
            case .exact(let id): model == id
            case .prefix(let start): model.hasPrefix(start)
            }
        }

        public var description: String {
            switch self {
            case .exact(let id): id
            case .prefix(let start): start + "*"
            }
        }
    }

    public struct Invalid: Error, Sendable, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// Each inner list must allow the model.
    public private(set) var requirements: [[Pattern]]

    /// Parses `["venice-uncensored-1-2", "qwen-*"]`: ids of letters, digits and `-_.:/@`, at most
    /// 128 characters, a trailing `*` making a prefix; at most 64 entries.
    public init(parsing entries: [String]) throws(Invalid) {
        guard !entries.isEmpty else { throw Invalid(description: "models must list at least one model id or prefix-*") }
        guard entries.count <= 64 else { throw Invalid(description: "models lists \(entries.count) entries; at most 64") }
        var patterns: [Pattern] = []
        for entry in entries {
            let trimmed = entry.trimmingWhitespace()
            let isPrefix = trimmed.hasSuffix("*")
            let body = isPrefix ? String(trimmed.dropLast()) : trimmed
            guard !body.isEmpty, body.count <= 128,
                  body.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.:/@".contains($0)) }) else {
                throw Invalid(description: "models entry \"\(entry.prefix(140))\" is not a model id or prefix-* (letters, digits, -_.:/@, at most 128)")
            }
            patterns.append(isPrefix ? .prefix(body) : .exact(body))
        }
        requirements = [patterns]
    }

    init(requirements: [[Pattern]]) { self.requirements = requirements }

    public func allows(_ model: String) -> Bool {
        requirements.allSatisfy { patterns in patterns.contains { $0.matches(model) } }
    }

    /// A model must pass both lists.
    func and(_ other: ModelAllowList?) -> ModelAllowList {
        guard let other else { return self }
        return ModelAllowList(requirements: requirements + other.requirements)
    }

    /// True when every model this list allows is also allowed by `other` (a client is never
    /// given more models than the policy creating it).
    public func isWithin(_ other: ModelAllowList) -> Bool {
        other.requirements.allSatisfy { theirs in
            requirements.contains { mine in
                mine.allSatisfy { pattern in
                    theirs.contains { bound in
                        switch (pattern, bound) {
                        case (.exact(let id), _): bound.matches(id)
                        case (.prefix(let start), .prefix(let boundStart)): start.hasPrefix(boundStart)
                        case (.prefix, .exact): false
                        }
                    }
                }
            }
        }
    }

    /// The patterns of the first list (what a client was given), as written.
    public var entries: [String] { requirements.first?.map(\.description) ?? [] }

    public var description: String {
        requirements.map { $0.map(\.description).joined(separator: ", ") }.joined(separator: " and ")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return String(text)
    }
}
