/// Why an observation could not be made (an agent that did not answer, a file that could not be read).
public struct DoctorProblem: Error, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
}
