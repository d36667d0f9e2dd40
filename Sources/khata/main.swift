print("khata")
