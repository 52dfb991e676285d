import SFTRunKit
print("sftrun")
