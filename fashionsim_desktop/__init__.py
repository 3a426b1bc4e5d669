"""FashionSim Desktop: find duplicate product photos in a catalogue folder and review them."""
__version__ = "0.4.0"
