"""Draw the app icon (a white T-shirt on a teal rounded square) at 256 px: resources/icons/fashionsim.png."""
from pathlib import Path

from PIL import Image, ImageDraw

S = 256
icon = Image.new("RGBA", (S, S), (0, 0, 0, 0))
d = ImageDraw.Draw(icon)
d.rounded_rectangle([8, 8, S - 8, S - 8], radius=48, fill=(22, 122, 128, 255))
shirt = [(78, 62), (106, 52), (150, 52), (178, 62), (222, 104), (196, 128), (178, 112), (178, 204), (78, 204),
         (78, 112), (60, 128), (34, 104)]
d.polygon(shirt, fill=(255, 255, 255, 255))
d.ellipse([104, 40, 152, 72], fill=(22, 122, 128, 255))  # neckline
d.rectangle([150, 150, 196, 196], fill=(255, 196, 64, 255))  # a second "copy" badge: duplicates
d.rectangle([162, 162, 208, 208], outline=(255, 255, 255, 255), width=5)
icon.save(Path(__file__).with_name("fashionsim.png"))
