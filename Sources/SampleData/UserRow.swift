/// A row of `user_data`.
public struct UserRow: SampleRow {
    public static let table = SampleTable.user
    public static let columns = ["ind", "first_name", "last_name", "age", "date_joined"]

    public var ind: Int
    public var firstName: String
    public var lastName: String
    public var age: Int
    public var dateJoined: LocalTimestamp

    public init(ind: Int, firstName: String, lastName: String, age: Int, dateJoined: LocalTimestamp) {
        self.ind = ind
        self.firstName = firstName
        self.lastName = lastName
        self.age = age
        self.dateJoined = dateJoined
    }

    public var key: Int { ind }

    public func appendCSV(to b: inout SampleOutputBuffer) {
        b.integer(ind)
        b.byte(0x2C)
        b.csvField(firstName)
        b.byte(0x2C)
        b.csvField(lastName)
        b.byte(0x2C)
        b.integer(age)
        b.byte(0x2C)
        b.timestamp(dateJoined, separator: UInt8(ascii: " "))
        b.byte(0x0A)
    }

    public func appendJSON(to b: inout SampleOutputBuffer) {
        b.raw("{\"ind\":")
        b.integer(ind)
        b.raw(",\"first_name\":")
        b.jsonString(firstName)
        b.raw(",\"last_name\":")
        b.jsonString(lastName)
        b.raw(",\"age\":")
        b.integer(age)
        b.raw(",\"date_joined\":\"")
        b.timestamp(dateJoined, separator: UInt8(ascii: "T"))
        b.raw("\"}")
    }
}
