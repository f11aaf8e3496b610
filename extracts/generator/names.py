"""Word lists for people, companies and job titles.

Company words never reuse a person's first or last name: the warehouse's PII tests search
for personal names, and a company called "Martin Logistics" would be a false alarm.
"""

from __future__ import annotations

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "James", "Mary", "John", "Linda", "Michael", "Sarah", "David", "Emily", "Robert",
        "Jessica", "William", "Ashley", "Megan", "Daniel", "Rachel", "Matthew", "Andrew",
        "Olivia", "Kevin", "Grace", "Brian", "Natalie", "Jason", "Rebecca",
    ),
    "es": (
        "José", "María", "Carlos", "Lucía", "Javier", "Carmen", "Miguel", "Sofía",
        "Alejandro", "Isabel", "Diego", "Elena", "Pablo", "Marta", "Andrés", "Paula",
        "Fernando", "Raúl", "Beatriz", "Sergio",
    ),
    "de": (
        "Lukas", "Anna", "Jonas", "Lena", "Felix", "Laura", "Maximilian", "Hannah", "Leon",
        "Sophie", "Tobias", "Katharina", "Florian", "Julia", "Stefan", "Sabine", "Jürgen",
        "Ursula",
    ),
    "fr": (
        "Camille", "Louis", "Chloé", "Hugo", "Léa", "Lucas", "Manon", "Théo", "Inès", "Jules",
        "Céline", "Antoine", "Juliette", "Nicolas", "Élodie", "Mathieu", "Claire", "Julien",
    ),
}  # fmt: skip

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "en": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Davis", "Wilson", "Anderson",
        "Taylor", "Moore", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis",
        "Walker", "Hall", "Allen", "Young", "King", "Wright", "Scott", "Baker",
    ),
    "es": (
        "García", "Martínez", "López", "González", "Rodríguez", "Fernández", "Sánchez",
        "Pérez", "Gómez", "Díaz", "Torres", "Ruiz", "Ramírez", "Flores", "Moreno", "Romero",
        "Navarro", "Molina",
    ),
    "de": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Koch", "Richter", "Klein", "Wolf", "Schröder", "Neumann",
        "Braun", "Zimmermann",
    ),
    "fr": (
        "Martin", "Bernard", "Dubois", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
        "Lefebvre", "Michel", "Bertrand", "Roux", "Fournier", "Girard", "Petit", "Mercier",
        "Blanchard", "Gauthier",
    ),
}  # fmt: skip

COMPANY_PREFIXES = (
    "Blue", "Bright", "North", "Silver", "Rapid", "Quantum", "Summit", "Crystal", "Green",
    "Apex", "Nimbus", "Vector", "Polar", "Solar", "Urban", "Harbor", "Cedar", "Maple", "Pine",
    "River", "Coastal", "Prime", "Nova", "Vertex", "Orbit", "Pixel", "Cobalt", "Amber",
    "Crimson", "Granite", "Iron", "Lunar", "Meridian", "Pacific", "Alpine", "Oak", "Ever",
    "Tidal", "Zenith", "Beacon", "Delta", "Echo", "Helix", "Jade", "Kinetic", "Lumen",
    "Mosaic", "Onyx", "Quartz", "Radiant", "Sable", "Terra", "Ultra", "Velvet", "Azure",
    "Copper", "Falcon", "Glacier", "Indigo", "Lattice",
)  # fmt: skip

COMPANY_ROOTS = (
    "peak", "wave", "field", "stream", "point", "bridge", "gate", "path", "forge", "works",
    "line", "spark", "mark", "nest", "shore", "crest", "leaf", "stone", "light", "wind",
    "core", "loop", "port", "scale", "grid", "flow", "mint", "sail", "ridge", "vale",
    "dock", "yard", "haven", "rock", "cloud", "beam", "tide", "frame", "hub", "dash",
)  # fmt: skip

COMPANY_NOUNS = (
    "Analytics", "Logistics", "Systems", "Labs", "Dynamics", "Solutions", "Networks",
    "Health", "Foods", "Retail", "Capital", "Robotics", "Software", "Learning", "Energy",
    "Media", "Motors", "Pharma", "Materials", "Logic", "Cloud", "Data", "Digital", "Freight",
    "Finance", "Studios", "Supply", "Partners", "Ventures", "Industries",
)  # fmt: skip

TITLES = (
    "IT Manager",
    "Support Lead",
    "Operations Manager",
    "Finance Director",
    "Product Owner",
    "Office Manager",
    "Head of Customer Success",
    "Data Analyst",
    "Systems Administrator",
    "Procurement Specialist",
)
