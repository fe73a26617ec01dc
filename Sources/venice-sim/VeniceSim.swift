import VeniceSimulator
print("stub")
