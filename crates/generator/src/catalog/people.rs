//! Countries with their time zones, locales, phone prefixes and name pools.

/// An IANA time zone with the standard UTC offset used to place activity in
/// local daytime. Daylight saving is ignored on purpose: the offset only
/// shapes the hour-of-day distribution, it never appears in the output.
#[derive(Debug)]
pub(crate) struct Zone {
    pub name: &'static str,
    pub utc_offset_minutes: i32,
}

#[derive(Debug)]
pub(crate) struct Country {
    pub code: &'static str,
    pub locale: &'static str,
    pub phone_prefix: &'static str,
    pub weight: u32,
    pub zones: &'static [Zone],
    pub cities: &'static [&'static str],
    pub first_names: &'static [&'static str],
    pub last_names: &'static [&'static str],
}

const fn zone(name: &'static str, utc_offset_minutes: i32) -> Zone {
    Zone {
        name,
        utc_offset_minutes,
    }
}

pub(crate) static COUNTRIES: [Country; 12] = [
    Country {
        code: "US",
        locale: "en-US",
        phone_prefix: "+1",
        weight: 22,
        zones: &[
            zone("America/New_York", -300),
            zone("America/Chicago", -360),
            zone("America/Denver", -420),
            zone("America/Los_Angeles", -480),
        ],
        cities: &["New York", "Chicago", "Denver", "Los Angeles", "Seattle"],
        first_names: &[
            "James", "Mary", "Michael", "Jennifer", "David", "Linda", "Emily", "Daniel",
        ],
        last_names: &[
            "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Wilson",
        ],
    },
    Country {
        code: "GB",
        locale: "en-GB",
        phone_prefix: "+44",
        weight: 12,
        zones: &[zone("Europe/London", 0)],
        cities: &["London", "Manchester", "Leeds", "Bristol"],
        first_names: &[
            "Oliver", "Amelia", "Harry", "Isla", "George", "Ava", "Jack", "Freya",
        ],
        last_names: &[
            "Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes",
        ],
    },
    Country {
        code: "IT",
        locale: "it-IT",
        phone_prefix: "+39",
        weight: 14,
        zones: &[zone("Europe/Rome", 60)],
        cities: &["Milano", "Roma", "Torino", "Bologna", "Napoli"],
        first_names: &[
            "Giulia",
            "Marco",
            "Francesca",
            "Luca",
            "Chiara",
            "Alessandro",
            "Sofia",
        ],
        last_names: &[
            "Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo",
        ],
    },
    Country {
        code: "DE",
        locale: "de-DE",
        phone_prefix: "+49",
        weight: 12,
        zones: &[zone("Europe/Berlin", 60)],
        cities: &["Berlin", "München", "Hamburg", "Köln"],
        first_names: &["Lukas", "Hannah", "Leon", "Mia", "Felix", "Lena", "Jonas"],
        last_names: &[
            "Müller",
            "Schmidt",
            "Schneider",
            "Fischer",
            "Weber",
            "Wagner",
        ],
    },
    Country {
        code: "FR",
        locale: "fr-FR",
        phone_prefix: "+33",
        weight: 9,
        zones: &[zone("Europe/Paris", 60)],
        cities: &["Paris", "Lyon", "Marseille", "Toulouse"],
        first_names: &[
            "Léa", "Hugo", "Chloé", "Louis", "Manon", "Gabriel", "Camille",
        ],
        last_names: &[
            "Martin", "Bernard", "Dubois", "Moreau", "Laurent", "Lefèvre",
        ],
    },
    Country {
        code: "ES",
        locale: "es-ES",
        phone_prefix: "+34",
        weight: 7,
        zones: &[zone("Europe/Madrid", 60)],
        cities: &["Madrid", "Barcelona", "Valencia", "Sevilla"],
        first_names: &["Lucía", "Pablo", "Martina", "Javier", "Carmen", "Diego"],
        last_names: &[
            "García",
            "Fernández",
            "López",
            "Martínez",
            "Sánchez",
            "Pérez",
        ],
    },
    Country {
        code: "BR",
        locale: "pt-BR",
        phone_prefix: "+55",
        weight: 6,
        zones: &[zone("America/Sao_Paulo", -180)],
        cities: &["São Paulo", "Rio de Janeiro", "Curitiba"],
        first_names: &["Ana", "João", "Maria", "Pedro", "Beatriz", "Rafael"],
        last_names: &["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira"],
    },
    Country {
        code: "IN",
        locale: "en-IN",
        phone_prefix: "+91",
        weight: 5,
        zones: &[zone("Asia/Kolkata", 330)],
        cities: &["Mumbai", "Bengaluru", "Delhi", "Pune"],
        first_names: &["Aarav", "Priya", "Vihaan", "Ananya", "Rohan", "Isha"],
        last_names: &["Sharma", "Patel", "Singh", "Iyer", "Reddy", "Gupta"],
    },
    Country {
        code: "JP",
        locale: "ja-JP",
        phone_prefix: "+81",
        weight: 4,
        zones: &[zone("Asia/Tokyo", 540)],
        cities: &["Tokyo", "Osaka", "Yokohama"],
        first_names: &["Haruto", "Yui", "Sota", "Hina", "Ren", "Aoi"],
        last_names: &["Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe"],
    },
    Country {
        code: "AU",
        locale: "en-AU",
        phone_prefix: "+61",
        weight: 4,
        zones: &[zone("Australia/Sydney", 600), zone("Australia/Perth", 480)],
        cities: &["Sydney", "Melbourne", "Perth", "Brisbane"],
        first_names: &[
            "Charlotte",
            "Noah",
            "Olivia",
            "William",
            "Matilda",
            "Lachlan",
        ],
        last_names: &["Nguyen", "Kelly", "Ryan", "Campbell", "Murphy"],
    },
    Country {
        code: "CA",
        locale: "en-CA",
        phone_prefix: "+1",
        weight: 4,
        zones: &[
            zone("America/Toronto", -300),
            zone("America/Vancouver", -480),
        ],
        cities: &["Toronto", "Vancouver", "Montréal", "Calgary"],
        first_names: &["Liam", "Emma", "Ethan", "Chloe", "Lucas", "Abigail"],
        last_names: &["Tremblay", "Roy", "Macdonald", "Leblanc", "Anderson"],
    },
    Country {
        code: "MX",
        locale: "es-MX",
        phone_prefix: "+52",
        weight: 3,
        zones: &[zone("America/Mexico_City", -360)],
        cities: &["Ciudad de México", "Guadalajara", "Monterrey"],
        first_names: &["Santiago", "Valentina", "Mateo", "Regina", "Sebastián"],
        last_names: &["Hernández", "González", "Ramírez", "Torres", "Flores"],
    },
];

/// Reserved example domains, so generated addresses can never reach anyone.
pub(crate) static EMAIL_DOMAINS: [&str; 4] =
    ["example.com", "example.net", "example.org", "mail.example"];

/// Companies for the few B2B buyers that get a `group` call.
pub(crate) static COMPANIES: [(&str, &str, u32); 5] = [
    ("Lanterna Studio", "Design", 12),
    ("Northwind Logistics", "Logistics", 340),
    ("Brightwater Clinics", "Healthcare", 95),
    ("Orbit Analytics", "Software", 48),
    ("Cedar & Stone", "Hospitality", 210),
];

/// ASCII form of a name for e-mail local parts: lowercased, accents dropped.
pub(crate) fn fold_ascii(name: &str, out: &mut String) {
    for ch in name.chars() {
        let folded = match ch {
            'à' | 'á' | 'â' | 'ã' | 'ä' => 'a',
            'ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            c if c.is_ascii_alphanumeric() => c.to_ascii_lowercase(),
            _ => continue,
        };
        out.push(folded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_keeps_only_lowercase_ascii() {
        let mut out = String::new();
        fold_ascii("Müller-Lefèvre João", &mut out);
        assert_eq!(out, "mullerlefevrejoao");
    }

    #[test]
    fn every_country_has_zones_and_names() {
        for country in &COUNTRIES {
            assert!(!country.zones.is_empty() && !country.cities.is_empty());
            assert!(!country.first_names.is_empty() && !country.last_names.is_empty());
        }
    }
}
