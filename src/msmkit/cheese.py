"""The cheese world of the MSM paper's §3.1: twelve preferences that both cheese specs explain,
each through its own value. One place for them, used by the AFT builder and example plugins."""

LIKES: tuple[str, ...] = (
    "cream cheese",
    "American cheese",
    "mild cheddar",
    "low-moisture mozzarella",
    "Colby",
    "Monterey Jack",
)
DISLIKES: tuple[str, ...] = (
    "Brie de Meaux",
    "Appenzeller",
    "Parmigiano-Reggiano",
    "Roquefort",
    "Époisses",
    "Stilton",
)
