/// First and last names for the users, and pieces for the posters' account names.
enum SampleNames {
    static let first: [String] = [
        "Aaron", "Abigail", "Adam", "Adrian", "Aiden", "Alexa", "Alexander", "Alexis", "Alice", "Alicia",
        "Allison", "Amanda", "Amber", "Amy", "Andrea", "Andrew", "Angela", "Anna", "Anthony", "Ashley",
        "Austin", "Bailey", "Benjamin", "Beth", "Bethany", "Brandon", "Brenda", "Brian", "Brittany", "Brooke",
        "Caleb", "Cameron", "Carlos", "Caroline", "Catherine", "Chad", "Charles", "Chelsea", "Chloe",
        "Christian", "Christina", "Christopher", "Cindy", "Claire", "Cody", "Colleen", "Connor", "Courtney",
        "Crystal", "Dakota", "Daniel", "Danielle", "David", "Deborah", "Denise", "Derek", "Destiny", "Devin",
        "Diana", "Dominic", "Donna", "Dylan", "Edward", "Elizabeth", "Ellen", "Emily", "Emma", "Eric", "Erica",
        "Ethan", "Evan", "Felicia", "Gabriel", "Gabrielle", "Gary", "Grace", "Gregory", "Hailey", "Hannah",
        "Heather", "Holly", "Ian", "Isaac", "Isabella", "Jack", "Jacob", "Jacqueline", "Jade", "James", "Jamie",
        "Janet", "Jasmine", "Jason", "Jeffrey", "Jennifer", "Jeremy", "Jessica", "Joanna", "Jonathan", "Jordan",
        "Joseph", "Joshua", "Julia", "Julie", "Justin", "Karen", "Katherine", "Kathleen", "Kayla", "Kelly",
        "Kevin", "Kimberly", "Kristen", "Kyle", "Laura", "Lauren", "Leah", "Linda", "Lisa", "Logan", "Lucas",
        "Lucy", "Madison", "Maria", "Mariah", "Mark", "Mary", "Matthew", "Megan", "Melissa", "Michael",
        "Michelle", "Miranda", "Molly", "Monica", "Natalie", "Nathan", "Nicholas", "Nicole", "Noah", "Olivia",
        "Paige", "Patricia", "Paul", "Rachel", "Rebecca", "Robert", "Ryan", "Samantha", "Samuel", "Sara",
        "Sarah", "Sean", "Shannon", "Sophia", "Stephanie", "Steven", "Sydney", "Taylor", "Thomas", "Tiffany",
        "Tyler", "Valerie", "Vanessa", "Victoria", "William", "Zachary", "Zoe",
    ]

    static let last: [String] = [
        "Adams", "Ali", "Allen", "Anderson", "Bailey", "Baker", "Barnes", "Bell", "Bennett", "Brooks", "Brown",
        "Bryant", "Butler", "Campbell", "Carter", "Castillo", "Chavez", "Clark", "Coleman", "Collins", "Cook",
        "Cooper", "Cox", "Cruz", "Davis", "Diaz", "Edwards", "Evans", "Fisher", "Flores", "Foster", "Garcia",
        "Gomez", "Gonzalez", "Gray", "Green", "Griffin", "Hall", "Hamilton", "Harris", "Hayes", "Henderson",
        "Hernandez", "Hill", "Howard", "Hughes", "Jackson", "James", "Jenkins", "Johnson", "Jones", "Kelly",
        "Kim", "King", "Lee", "Lewis", "Long", "Lopez", "Martin", "Martinez", "Miller", "Mitchell", "Moore",
        "Morales", "Morgan", "Morris", "Murphy", "Myers", "Nelson", "Nguyen", "Ortiz", "Parker", "Patel",
        "Perez", "Perry", "Peterson", "Phillips", "Powell", "Price", "Ramirez", "Reed", "Reyes", "Richardson",
        "Rivera", "Roberts", "Robinson", "Rodriguez", "Rogers", "Ross", "Russell", "Sanchez", "Sanders",
        "Scott", "Shaw", "Simmons", "Smith", "Stewart", "Sullivan", "Taylor", "Thomas", "Thompson", "Torres",
        "Turner", "Walker", "Ward", "Washington", "Watson", "White", "Williams", "Wilson", "Wood", "Wright",
        "Young",
    ]

    /// Account-name patterns: a person's name, a brand-like name, or a name with a topic.
    static let brandAdjectives: [String] = [
        "Happy", "Little", "Simple", "Crafty", "Modern", "Cozy", "Wild", "Golden", "Urban", "Rustic", "Bright",
        "Daily", "Sweet", "Bold", "Tiny", "Vintage", "Fresh", "Clever", "Lovely", "Pretty",
    ]

    static let brandNouns: [String] = [
        "Home", "Studio", "Nest", "Life", "Journal", "Corner", "Kitchen", "Wanderer", "Designs", "Ideas",
        "Blog", "Workshop", "Closet", "Academy", "Collective", "Magazine", "Diaries", "Decor", "Press", "Co.",
    ]
}
