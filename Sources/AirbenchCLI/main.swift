print("airbench")
