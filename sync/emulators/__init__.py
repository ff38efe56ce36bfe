"""Local emulators of the services we talk to: Ozon Seller API and Google Sheets API."""
